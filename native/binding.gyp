{
  "targets": [
    {
      "target_name": "pptpd_native",
      "sources": [
        "src/addon.c",
        "src/arp.c",
        "src/kppp.c",
        "src/notify.c",
        "src/tun.c",
        "src/ifconf.c",
        "src/raw.c",
        "src/poll.c",
        "src/netns.c",
        "src/mppe.c",
        "src/fastrx.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

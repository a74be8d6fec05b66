{
  "targets": [
    {
      "target_name": "pptpd_native",
      "sources": [
        "src/addon.c",
        "src/notify.c"
      ],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

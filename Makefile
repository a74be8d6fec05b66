# make            build (npm ci: dependencies, native addon, TypeScript)
# make install    install pptpd/pptpctl, their man pages and the systemd unit
#
# PREFIX=/usr puts the programs where systemd/pptpd.service expects them.
# DESTDIR stages the whole install under another root (packaging, tests):
#   make install DESTDIR=/tmp/stage   → /tmp/stage/usr/bin/pptpd, …
# install builds only when the build output is missing, so `make && sudo
# make install` does not run npm ci (or any package script) as root.
# NPM_FLAGS goes to the npm that installs the dependencies (e.g. --offline).
PREFIX ?= /usr
UNITDIR ?= /etc/systemd/system
DESTDIR ?=
NPM_FLAGS ?=
MANDIR ?= $(PREFIX)/share/man

MAN8 := man/pptpd.8 man/pptpctl.8
MAN5 := man/pptpd.conf.5

# What npm pack takes from the build (package.json "files").
BUILT := dist/src/cli/pptpd.js dist/src/cli/pptpctl.js native/build/Release/pptpd_native.node

.PHONY: build built install uninstall test

build:
	npm ci

# Builds once when any of the build output is missing.
built:
	@for f in $(BUILT); do [ -f "$$f" ] || { npm ci; exit; }; done

test:
	npm test

# The package is packed into a temporary directory (nothing is left in the
# tree) without running package scripts: the build above is what ships.
install: built
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	npm pack --silent --ignore-scripts --pack-destination "$$tmp" >/dev/null; \
	npm install --global --prefix "$(DESTDIR)$(PREFIX)" --omit=dev --ignore-scripts \
	  --no-audit --no-fund $(NPM_FLAGS) "$$tmp"/pptpd-*.tgz
	install -D -m 0644 systemd/pptpd.service "$(DESTDIR)$(UNITDIR)/pptpd.service"
	sed -i 's|^ExecStart=/usr/bin/pptpd|ExecStart=$(PREFIX)/bin/pptpd|' "$(DESTDIR)$(UNITDIR)/pptpd.service"
	install -d -m 0755 "$(DESTDIR)$(MANDIR)/man8" "$(DESTDIR)$(MANDIR)/man5"
	install -m 0644 $(MAN8) "$(DESTDIR)$(MANDIR)/man8/"
	install -m 0644 $(MAN5) "$(DESTDIR)$(MANDIR)/man5/"
	@echo "installed: $(PREFIX)/bin/pptpd $(PREFIX)/bin/pptpctl $(UNITDIR)/pptpd.service"
	@echo "man pages: $(foreach m,$(MAN8),$(MANDIR)/man8/$(notdir $(m))) $(foreach m,$(MAN5),$(MANDIR)/man5/$(notdir $(m)))"
	@echo "then: systemctl daemon-reload && systemctl enable --now pptpd"

uninstall:
	npm uninstall --global --prefix "$(DESTDIR)$(PREFIX)" pptpd
	rm -f "$(DESTDIR)$(UNITDIR)/pptpd.service"
	rm -f $(foreach m,$(MAN8),"$(DESTDIR)$(MANDIR)/man8/$(notdir $(m))") $(foreach m,$(MAN5),"$(DESTDIR)$(MANDIR)/man5/$(notdir $(m))")

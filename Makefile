# make install: build and install pptpd/pptpctl and the systemd unit.
# PREFIX=/usr puts the programs where systemd/pptpd.service expects them.
PREFIX ?= /usr
UNITDIR ?= /etc/systemd/system
DESTDIR ?=

.PHONY: build install uninstall test

build:
	npm ci

test:
	npm test

install: build
	npm pack --silent >/dev/null
	npm install --global --prefix "$(DESTDIR)$(PREFIX)" --omit=dev ./pptpd-*.tgz
	rm -f pptpd-*.tgz
	install -D -m 0644 systemd/pptpd.service "$(DESTDIR)$(UNITDIR)/pptpd.service"
	sed -i 's|^ExecStart=/usr/bin/pptpd|ExecStart=$(PREFIX)/bin/pptpd|' "$(DESTDIR)$(UNITDIR)/pptpd.service"
	@echo "installed: $(PREFIX)/bin/pptpd $(PREFIX)/bin/pptpctl $(UNITDIR)/pptpd.service"
	@echo "then: systemctl daemon-reload && systemctl enable --now pptpd"

uninstall:
	npm uninstall --global --prefix "$(DESTDIR)$(PREFIX)" pptpd
	rm -f "$(DESTDIR)$(UNITDIR)/pptpd.service"

// The Arch-wiki PPTP server configuration (shared/seed-archwiki-pptp-server.md),
// verbatim, shared by the daemon interop tests (TUN on the host side, kernel
// datapath inside a guest).

// Verbatim from the seed (Arch wiki).
export const ARCH_CONF = `# See man pptpd.conf to get more information about this file

# pppd options file. By default, /etc/ppp/options is used
option /etc/ppp/options.pptpd

# Server IP in local network
localip 192.168.1.2

# IP address ranges used to assign IPs to new connecting clients
# Here we define two ranges for our 192.168.1.* subnet: 234-238 and 245
remoteip 192.168.1.234-238,192.168.1.245

`;
export const ARCH_OPTIONS = `# Read man pppd to see the full list of available options

# The name of the local system for authentication purposes
name pptpd

# Refuse PAP, CHAP or MS-CHAP connections but accept connections with
# MS-CHAPv2 or MPPE with 128-bit encryption
refuse-pap
refuse-chap
refuse-mschap
require-mschap-v2
require-mppe-128

# Add entry to the ARP system table
proxyarp

# For the serial device to ensure exclusive access to the device
lock

# Disable BSD-Compress and Van Jacobson TCP/IP header compression
nobsdcomp
novj
novjccomp

# Disable file logging
nolog

# DNS servers for Microsoft Windows clients. Using Google's public servers here
ms-dns 8.8.8.8
ms-dns 8.8.4.4

`;
export const ARCH_SECRETS = `# <username> <server name> <password> <ip addresses>
user2    pptpd    123    *

`;
export const POOL = ['192.168.1.234', '192.168.1.235', '192.168.1.236', '192.168.1.237', '192.168.1.238', '192.168.1.245'];
export const SERVER_PPP_IP = '192.168.1.2';

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { findLanInterface, ProxyArp } from '../../src/datapath/proxy-arp.js';
import { silentLogger } from '../../src/util/log.js';
import { TestNetns, rootSkipReason } from '../helpers/netns.js';
import { loadNative } from '../../native/index.js';

const v4 = (address: string, netmask: string, mac = '02:00:00:00:00:01', internal = false): NetworkInterfaceInfo =>
  ({ address, netmask, family: 'IPv4', mac, internal, cidr: null }) as NetworkInterfaceInfo;

const table = {
  lo: [v4('127.0.0.1', '255.0.0.0', '00:00:00:00:00:00', true)],
  eth0: [v4('10.0.0.5', '255.255.255.0')],
  lan0: [v4('192.168.1.2', '255.255.255.0')],
  ppp0: [v4('192.168.1.2', '255.255.255.255', '00:00:00:00:00:00')],
};

test('the LAN interface is the one whose subnet holds the client address', () => {
  assert.equal(findLanInterface('192.168.1.234', table), 'lan0');
  assert.equal(findLanInterface('10.0.0.77', table), 'eth0');
  assert.equal(findLanInterface('172.16.0.1', table), undefined);
  assert.equal(findLanInterface('not-an-address', table), undefined);
});

test('add/remove call the addon once each and remember the interface', () => {
  const calls: string[] = [];
  const arp = new ProxyArp({ arpProxy: (i, a, add) => { calls.push(`${add ? '+' : '-'}${i}:${a}`); } }, silentLogger, (p) => findLanInterface(p, table));
  assert.equal(arp.add('192.168.1.234'), 'lan0');
  assert.equal(arp.add('172.16.0.1'), undefined);
  arp.remove('192.168.1.234');
  arp.remove('192.168.1.234');
  arp.remove('172.16.0.1');
  assert.deepEqual(calls, ['+lan0:192.168.1.234', '-lan0:192.168.1.234']);
  assert.equal(arp.size, 0);
});

test('a real proxy ARP entry appears on the LAN interface and goes away (netns, root)', { skip: rootSkipReason() ?? false }, () => {
  const ns = TestNetns.create();
  try {
    ns.ip('link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1');
    ns.ip('addr', 'add', '192.168.1.2/24', 'dev', 'lan0');
    ns.ip('link', 'set', 'lan0', 'up');
    ns.ip('link', 'set', 'lan1', 'up'); // libuv lists only running interfaces
    ns.enter();
    try {
      // os.networkInterfaces() runs on the main thread: it sees the namespace.
      const arp = new ProxyArp(loadNative(), silentLogger);
      assert.equal(arp.add('192.168.1.234'), 'lan0');
      assert.match(ns.ip('neigh', 'show', 'proxy'), /192\.168\.1\.234 dev lan0/);
      arp.remove('192.168.1.234');
      assert.doesNotMatch(ns.ip('neigh', 'show', 'proxy'), /192\.168\.1\.234/);
    } finally {
      ns.leave();
    }
  } finally {
    ns.destroy();
  }
});

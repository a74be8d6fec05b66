// What the daemon hands the PPP engine from the parsed files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fsmConfig, pppPolicy, DEFAULT_MTU, DEFAULT_MRU } from '../../src/daemon.js';
import { loadWithOptions } from '../helpers/config-memory.js';

const load = loadWithOptions;

test('Arch-wiki options: MS-CHAPv2 only, MPPE-128 required stateless, DNS, safe MTU/MRU defaults', () => {
  const p = pppPolicy(load('name pptpd\nrefuse-pap\nrefuse-chap\nrefuse-mschap\nrequire-mschap-v2\nrequire-mppe-128\nms-dns 8.8.8.8\nms-dns 8.8.4.4\n'));
  assert.equal(p.name, 'pptpd');
  assert.deepEqual(p.auth, ['mschapv2']);
  assert.deepEqual(p.mppe, { required: true, allow40: false, allow56: false, allow128: true, stateful: false });
  assert.deepEqual(p.dns, ['8.8.8.8', '8.8.4.4']);
  assert.equal(p.mtu, DEFAULT_MTU);
  assert.equal(p.mru, DEFAULT_MRU);
});

test('nomppe gives no MPPE at all; mtu/mru and echo options carry through', () => {
  const p = pppPolicy(load('require-mschap-v2\nnomppe\nmtu 1300\nmru 1320\nlcp-echo-interval 20\nlcp-echo-failure 3\n'));
  assert.equal(p.mppe, null);
  assert.equal(p.mtu, 1300);
  assert.equal(p.mru, 1320);
  assert.equal(p.lcpEchoInterval, 20);
  assert.equal(p.lcpEchoFailure, 3);
});

test('lcp-restart / lcp-max-* become the FSM timers; unset ones stay at the RFC defaults', () => {
  assert.deepEqual(fsmConfig(load('require-mschap-v2\n')), {});
  assert.deepEqual(
    fsmConfig(load('require-mschap-v2\nlcp-restart 2\nlcp-max-configure 4\nlcp-max-terminate 1\nlcp-max-failure 3\n')),
    { restartMs: 2000, maxConfigure: 4, maxTerminate: 1, maxFailure: 3 },
  );
});

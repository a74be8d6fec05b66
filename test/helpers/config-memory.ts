// Loads a configuration from memory: a fixed /t/pptpd.conf (localip 10.0.0.1,
// remoteip 10.0.1.1-4) that includes /t/options with the given text, and a
// one-line /t/chap-secrets. For tests of what the daemon makes of pppd options.
import { loadConfig } from '../../src/config/load.js';
import { memoryFileSystem } from '../../src/cli/demo.js';

export function loadWithOptions(options: string, chapSecrets = 'u * p *\n'): ReturnType<typeof loadConfig> {
  return loadConfig({
    confPath: '/t/pptpd.conf',
    chapSecretsPath: '/t/chap-secrets',
    papSecretsPath: null,
    systemOptionsPath: null,
    fs: memoryFileSystem(new Map([
      ['/t/pptpd.conf', 'option /t/options\nlocalip 10.0.0.1\nremoteip 10.0.1.1-4\n'],
      ['/t/options', options],
      ['/t/chap-secrets', chapSecrets],
    ])),
  });
}

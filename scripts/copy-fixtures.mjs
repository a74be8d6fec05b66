#!/usr/bin/env node
// Tests read fixtures relative to themselves; compiled tests live in dist/test.
import { cpSync, rmSync } from 'node:fs';
rmSync('dist/test/fixtures', { recursive: true, force: true });
cpSync('test/fixtures', 'dist/test/fixtures', { recursive: true });

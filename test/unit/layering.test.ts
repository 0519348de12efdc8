import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = new URL('../..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

async function layeringErrors(filePath: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath });
  return r!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint enforces the layers', () => {
  const cases: [string, string, boolean][] = [
    ['protocol/src/x.ts', "import { readFileSync } from 'node:fs';", true],
    ['protocol/src/x.ts', "import { a } from '../../authority/src/app.ts';", true],
    ['protocol/src/x.ts', "import { z } from 'zod';", false],
    ['renderer/src/x.ts', "import { app } from 'electron';", true],
    ['renderer/src/x.ts', "import path from 'path';", true],
    ['renderer/src/x.ts', "import { routes } from '../../protocol/src/index.ts';", false],
    ['customer/src/x.ts', "import { x } from '../../main/core/client.ts';", true],
    ['authority/src/x.ts', "import { x } from '../../main/core/store.ts';", true],
    ['authority/src/x.ts', "import { BrowserWindow } from 'electron';", true],
    ['authority/src/x.ts', "import { readFileSync } from 'node:fs';", false],
    ['main/core/x.ts', "import { ipcMain } from 'electron';", true],
    ['main/shell/x.ts', "import { ipcMain } from 'electron';", false],
    ['preload/x.ts', "import { contextBridge } from 'electron';", false],
  ];
  for (const [file, code, bad] of cases) {
    it(`${file}: ${code} is ${bad ? 'refused' : 'allowed'}`, async () => {
      const errors = await layeringErrors(file, code);
      if (bad)
        assert.ok(
          errors.some((m) => m.includes('Bad layering')),
          `expected a layering error, got ${JSON.stringify(errors)}`,
        );
      else assert.deepEqual(errors, []);
    });
  }
});

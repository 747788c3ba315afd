import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchReport } from '../model.js';
import { renderCsv } from './csv.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';

export const REPORT_FILES = ['report.json', 'report.csv', 'report.html', 'report.md'] as const;

/** Writes the four report files into `dir` and returns their paths. */
export async function writeReports(report: BenchReport, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const contents: Record<(typeof REPORT_FILES)[number], string> = {
    'report.json': `${JSON.stringify(report, null, 2)}\n`,
    'report.csv': renderCsv(report),
    'report.html': renderHtml(report),
    'report.md': renderMarkdown(report),
  };
  const paths: string[] = [];
  for (const name of REPORT_FILES) {
    const path = join(dir, name);
    await writeFile(path, contents[name]);
    paths.push(path);
  }
  return paths;
}

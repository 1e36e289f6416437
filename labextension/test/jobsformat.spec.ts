import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';
import { clusterSummary, formatMemory, jobCommand, jobElapsed, jobResources, jobTiming, lastLines, messageTone, shortId } from '../src/jobsformat';
import { CLUSTER, job, JOBS, MiB, NOW } from './jobs-fixture';

const trans = nullTranslator.load('jupyter_mlp');

describe('formatMemory', () => {
  it('writes sizes the way jobs ask for them, in powers of 1024', () => {
    expect(formatMemory(256 * MiB)).toBe('256 MiB');
    expect(formatMemory(1.5 * 1024 * MiB)).toBe('1.5 GiB');
    expect(formatMemory(4 * 1024 * MiB)).toBe('4 GiB');
    expect(formatMemory(300 * 1024)).toBe('300 KiB');
    expect(formatMemory(512)).toBe('512 B');
  });

  it('is blank for what is not a size', () => {
    expect(formatMemory(null)).toBe('');
    expect(formatMemory(undefined)).toBe('');
    expect(formatMemory(-1)).toBe('');
    expect(formatMemory(NaN)).toBe('');
  });
});

describe('jobResources', () => {
  it('says CPUs, GPUs and memory asked for, in words', () => {
    expect(jobResources({ cpus: 1, gpus: null, memory: 256 * MiB }, trans)).toBe('1 CPU · 256 MiB');
    expect(jobResources({ cpus: 2, gpus: 1, memory: 4 * 1024 * MiB }, trans)).toBe('2 CPUs · 1 GPU · 4 GiB');
    expect(jobResources({ cpus: 0.5, gpus: 2, memory: null }, trans)).toBe('0.5 CPUs · 2 GPUs');
    expect(jobResources({ cpus: null, gpus: null, memory: null }, trans)).toBe('default resources');
  });
});

describe('jobTiming', () => {
  it('says how long a job has run, waited, or ran', () => {
    expect(jobElapsed(job(), NOW)).toBe(50);
    expect(jobTiming(job(), trans, NOW)).toMatch(/^submitted .+ · running for 50 s$/);
    expect(jobTiming(JOBS[1], trans, NOW)).toMatch(/^submitted .+ · waiting for 1 m 00 s$/);
    expect(jobTiming(job({ started_at: NOW - 0.836 }), trans, NOW)).toMatch(/ · running for 0 s$/);
    expect(jobTiming(job({ started_at: NOW - 9.7 }), trans, NOW)).toMatch(/ · running for 9 s$/);
    expect(jobTiming(JOBS[2], trans, NOW)).toMatch(/^submitted .+ · ran 10 s$/);
  });

  it('says only when a job was submitted when it ended without starting', () => {
    const stopped = job({ status: 'stopped', started_at: null, ended_at: NOW, message: 'cancelled by alice' });
    expect(jobElapsed(stopped, NOW)).toBeNull();
    expect(jobTiming(stopped, trans, NOW)).toMatch(/^submitted [^·]+$/);
  });
});

describe('messageTone', () => {
  it('makes failures stand out, pending reasons warn, and says nothing without a message', () => {
    expect(messageTone(JOBS[2])).toBe('error');
    expect(messageTone(JOBS[1])).toBe('warn');
    expect(messageTone(job({ status: 'stopped', message: 'cancelled by alice' }))).toBe('info');
    expect(messageTone(job())).toBeNull();
  });
});

describe('clusterSummary', () => {
  it('says where the cluster is, its nodes, what is in use and the jobs going', () => {
    expect(clusterSummary(CLUSTER, trans)).toBe(
      'Ray cluster at http://127.0.0.1:8265 · 1 node · in use: 1/2 CPUs, 256 MiB/4 GiB memory · 1 running, 1 pending'
    );
  });

  it('says a local head that has not started yet, and a cluster that did not answer', () => {
    const local = { address: null, embedded: true, started: false, nodes: [], totals: {}, in_use: {}, note: 'a local Ray head starts with the first job' };
    expect(clusterSummary(local, trans)).toBe('local Ray head: not started (starts with the first job)');
    expect(clusterSummary({ ...CLUSTER, embedded: true, error: 'the head is away' }, trans)).toBe('local Ray head: the head is away');
    expect(clusterSummary({ ...CLUSTER, totals: { cpus: 4, gpus: 2 }, in_use: { cpus: 0.5, gpus: 1 }, nodes: [] }, trans)).toContain(
      '0 nodes · in use: 0.5/4 CPUs, 1/2 GPUs ·'
    );
  });
});

describe('jobCommand', () => {
  it('says what the user ran, without the memory watchdog around it', () => {
    const wrapped = 'python -u -m mlp._jobrun --memory 268435456 --policy stop -- python -u tick.py --lr 0.1';
    expect(jobCommand({ entrypoint: wrapped })).toBe('python -u tick.py --lr 0.1');
    expect(jobCommand({ entrypoint: 'python -u -m mlp._jobrun -- bash run.sh' })).toBe('bash run.sh');
    expect(jobCommand({ entrypoint: 'python -u train.py' })).toBe('python -u train.py');
    expect(jobCommand({ entrypoint: wrapped, command: 'python tick.py --lr 0.1' })).toBe(
      'python tick.py --lr 0.1'
    );
  });
});

describe('lastLines and shortId', () => {
  it('keeps the last lines of a text, a partial last line counting as one', () => {
    expect(lastLines('a\nb\nc\n', 2)).toEqual({ text: 'b\nc\n', dropped: true });
    expect(lastLines('a\nb\nc', 2)).toEqual({ text: 'b\nc', dropped: true });
    expect(lastLines('a\nb\n', 2)).toEqual({ text: 'a\nb\n', dropped: false });
    expect(lastLines('a', 1)).toEqual({ text: 'a', dropped: false });
    expect(lastLines('', 5)).toEqual({ text: '', dropped: false });
    const many = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join('');
    const tail = lastLines(many, 2000);
    expect(tail.text.split('\n').length).toBe(2001);
    expect(tail.text.startsWith('line 3000\n')).toBe(true);
  });

  it('shortens ids to 8 hex digits', () => {
    expect(shortId('0123456789abcdef0123456789abcdef')).toBe('01234567');
  });
});

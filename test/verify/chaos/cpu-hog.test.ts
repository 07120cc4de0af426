import { cpuUsage } from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MAX_CPU_HOGS, startCpuHog } from '../../../verify/chaos/cpu-hog.js';

describe('startCpuHog', () => {
  it('burns CPU in its threads until stopped', async () => {
    // Prepare
    const before = cpuUsage();

    // Act: the process's CPU time grows by the busy threads' time while the main thread sleeps.
    const hog = startCpuHog(1);
    let used = 0;
    // No deadline: the loop ends once the thread has burnt 50 ms of CPU, however slowly the machine gives it.
    while (used < 50_000) {
      await sleep(20);
      const now = cpuUsage(before);
      used = now.user + now.system;
    }
    await hog.stop();

    // Assess
    expect(hog.threads).toBe(1);
    expect(used).toBeGreaterThanOrEqual(50_000);
  });

  it('starts nothing for 0 and stops twice without harm', async () => {
    // Act
    const hog = startCpuHog(0);
    await hog.stop();
    await hog.stop();

    // Assess
    expect(hog.threads).toBe(0);
  });

  it.each([-1, 1.5, MAX_CPU_HOGS + 1])('refuses %d threads', (threads) => {
    // Act / Assess
    expect(() => startCpuHog(threads)).toThrow(RangeError);
  });
});

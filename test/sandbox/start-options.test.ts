import { describe, expect, it } from 'vitest';
import { UsageError } from '../../ops/cli/flags.js';
import { parseStartArgs, type StartOptions } from '../../sandbox/start-options.js';

const DEFAULTS: StartOptions = {
  port: 3000,
  demo: true,
  durationS: undefined,
  json: false,
  seed: 1,
  rate: 10,
};

describe('parseStartArgs', () => {
  it.each([
    [[], DEFAULTS],
    [['--port', '8080'], { ...DEFAULTS, port: 8080 }],
    [['--port=1'], { ...DEFAULTS, port: 1 }],
    [['--demo'], DEFAULTS],
    [['--no-demo'], { ...DEFAULTS, demo: false }],
    [['--duration', '5'], { ...DEFAULTS, durationS: 5 }],
    [['--duration=0.5'], { ...DEFAULTS, durationS: 0.5 }],
    [['--json'], { ...DEFAULTS, json: true }],
    [['--seed', '42'], { ...DEFAULTS, seed: 42 }],
    [['--seed=-3'], { ...DEFAULTS, seed: -3 }],
    [['--rate', '2.5'], { ...DEFAULTS, rate: 2.5 }],
    [['--rate', '1000'], { ...DEFAULTS, rate: 1000 }],
    [
      ['--duration', '5', '--json', '--port', '4000', '--no-demo'],
      { ...DEFAULTS, durationS: 5, json: true, port: 4000, demo: false },
    ],
    [['--help'], 'help'],
  ])('parses %j', (argv, expected) => {
    expect(parseStartArgs(argv)).toEqual(expected);
  });

  it.each([
    [['--port', 'abc'], /--port must be an integer from 1 to 65535, got "abc"/],
    [['--port', '0'], /--port must be an integer/],
    [['--port', '70000'], /--port must be an integer/],
    [['--port', '12.5'], /--port must be an integer/],
    [['--port'], /--port/],
    [['--nope'], /--nope/],
    [['extra'], /extra/],
    [['--demo', '--no-demo'], /--demo and --no-demo/],
    [['--duration', '0'], /--duration must be a number of seconds > 0, got "0"/],
    [['--duration', '-1'], /--duration/],
    [['--duration', '5s'], /--duration/],
    [['--duration'], /--duration/],
    [['--seed', '1.5'], /--seed must be an integer, got "1.5"/],
    [['--seed', '99999999999999999999'], /--seed/],
    [['--rate', '0'], /--rate must be a number of writes per second > 0 and <= 1000, got "0"/],
    [['--rate', '1001'], /--rate/],
    [['--rate', 'fast'], /--rate/],
    [['--no-demo', '--rate', '5'], /--rate sets the demo traffic, which --no-demo turns off/],
    [['--no-demo', '--seed', '5'], /--seed sets the demo traffic/],
    [['--json=yes'], /--json/],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseStartArgs(argv)).toThrow(UsageError);
    expect(() => parseStartArgs(argv)).toThrow(message);
  });
});

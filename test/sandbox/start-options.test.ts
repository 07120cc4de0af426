import { describe, expect, it } from 'vitest';
import { parseStartArgs, UsageError } from '../../sandbox/start-options.js';

describe('parseStartArgs', () => {
  it.each([
    [[], { port: 3000 }],
    [['--port', '8080'], { port: 8080 }],
    [['--port=1'], { port: 1 }],
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
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseStartArgs(argv)).toThrow(UsageError);
    expect(() => parseStartArgs(argv)).toThrow(message);
  });
});

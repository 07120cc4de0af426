import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { InvalidMessageContents, KmsAccessDenied, QueueDoesNotExist } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import * as classicZod from 'zod';
import {
  classifyError,
  describeError,
  type FailureKind,
  isInternalError,
  PermanentError,
  TransientError,
  UnreportableRecordError,
} from '../../../lambdas/shared/errors.js';
import * as z from '../../../lambdas/shared/zod.js';

/** An error as the AWS SDK v3 deserialises a service's error response. */
function serviceError(name: string, httpStatusCode: number, $fault: 'client' | 'server' = 'client'): Error {
  return new DynamoDBServiceException({
    name,
    $fault,
    message: `${name} from the service`,
    $metadata: { httpStatusCode },
  });
}

/** A Node.js socket error, as the SDK's HTTP handler rethrows it. */
function networkError(code: string): Error {
  return Object.assign(new Error(`socket failed: ${code}`), { code });
}

/**
 * What the SDK throws when it cannot deserialize a response (here a failed condition's ALL_OLD item): the engine's
 * TypeError with the response's `$metadata` attached, status 400 included.
 */
function deserializationFailure(): Error {
  return Object.assign(
    new TypeError(
      "Cannot read properties of undefined (reading 'B')\n  Deserialization error: to see the raw response, " +
        'inspect the hidden field {error}.$response on this object.',
    ),
    { $metadata: { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 } },
  );
}

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode }, message: 'from the service' });

describe('classifyError', () => {
  const zodError = z.object({ orderId: z.string() }).safeParse({}).error;
  const classicZodError = classicZod.object({ orderId: classicZod.string() }).safeParse({}).error;

  const cases: ReadonlyArray<[string, unknown, FailureKind]> = [
    // Our own classes say what they are.
    ['PermanentError', new PermanentError('schema violation'), 'permanent'],
    ['TransientError', new TransientError('sink is down'), 'transient'],
    ['a zod schema violation', zodError, 'permanent'],
    // What the ops tools' own schemas throw, should one reach the classification.
    ['a classic zod schema violation', classicZodError, 'permanent'],
    // Throttling.
    [
      'ProvisionedThroughputExceededException',
      new ProvisionedThroughputExceededException(metadata(400)),
      'transient',
    ],
    ['ThrottlingException', new ThrottlingException(metadata(400)), 'transient'],
    ['RequestLimitExceeded', new RequestLimitExceeded(metadata(400)), 'transient'],
    ['TransactionConflictException', new TransactionConflictException(metadata(400)), 'transient'],
    ['TooManyRequestsException by name', serviceError('TooManyRequestsException', 400), 'transient'],
    ['HTTP 429 under any name', serviceError('SomethingTooFast', 429), 'transient'],
    [
      'an error the SDK marks $retryable',
      Object.assign(serviceError('Odd', 400), { $retryable: {} }),
      'transient',
    ],
    // Server side and network.
    ['InternalServerError (500)', new InternalServerError(metadata(500)), 'transient'],
    ['a 503 from a sink', serviceError('ServiceUnavailable', 503, 'server'), 'transient'],
    [
      '$fault server without a status',
      Object.assign(new Error('x'), { name: 'Boom', $fault: 'server' }),
      'transient',
    ],
    ['ECONNRESET', networkError('ECONNRESET'), 'transient'],
    ['ETIMEDOUT', networkError('ETIMEDOUT'), 'transient'],
    ['TimeoutError', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'transient'],
    ['HTTP 408', serviceError('RequestTimeout', 408), 'transient'],
    // Auth and configuration: an operator fix lets every record through.
    ['AccessDeniedException', serviceError('AccessDeniedException', 400), 'transient'],
    ['ExpiredTokenException', serviceError('ExpiredTokenException', 400), 'transient'],
    ['UnrecognizedClientException', serviceError('UnrecognizedClientException', 400), 'transient'],
    ['a 403 under any name', serviceError('Forbidden', 403), 'transient'],
    ['ResourceNotFoundException (missing table)', new ResourceNotFoundException(metadata(400)), 'transient'],
    ['SQS QueueDoesNotExist', new QueueDoesNotExist(metadata(400)), 'transient'],
    ['SQS KmsAccessDenied', new KmsAccessDenied(metadata(400)), 'transient'],
    ['SQS KMS.ThrottlingException', serviceError('KMS.ThrottlingException', 400), 'transient'],
    ['SQS KMS.NotFoundException', serviceError('KMS.NotFoundException', 400), 'transient'],
    ['SNS KMSThrottlingException', serviceError('KMSThrottlingException', 400), 'transient'],
    ['SNS KMSOptInRequired', serviceError('KMSOptInRequired', 403), 'transient'],
    ['SESv2 SendingPausedException', serviceError('SendingPausedException', 400), 'transient'],
    ['SESv2 AccountSuspendedException', serviceError('AccountSuspendedException', 400), 'transient'],
    // Validation-type 4xx: the same request is rejected every time.
    ['ValidationException', serviceError('ValidationException', 400), 'permanent'],
    ['ConditionalCheckFailedException', new ConditionalCheckFailedException(metadata(400)), 'permanent'],
    ['SQS InvalidMessageContents', new InvalidMessageContents(metadata(400)), 'permanent'],
    ['a 413 from a sink', serviceError('RequestEntityTooLarge', 413), 'permanent'],
    [
      'a modelled client fault without a status',
      Object.assign(new Error('x'), { $fault: 'client' }),
      'permanent',
    ],
    // Unknown.
    [
      'a plain Error (a bug)',
      new TypeError("Cannot read properties of undefined (reading 'S')"),
      'transient',
    ],
    ['a thrown string', 'boom', 'transient'],
    ['undefined', undefined, 'transient'],
    // Our own making, whatever the response's status says (issue 12: such a TypeError was dead-lettered).
    ['an SDK deserialization failure (TypeError, status 400)', deserializationFailure(), 'transient'],
    [
      "the marshaller's refusal of a value",
      new Error('Unsupported type passed: [object Object]. Pass options.convertClassInstanceToMap=true'),
      'transient',
    ],
  ];

  it.each(cases)('classifies %s', (_description, error, expected) => {
    // Act
    const kind = classifyError(error);

    // Assess
    expect(kind).toBe(expected);
  });
});

describe('isInternalError', () => {
  it.each<[string, unknown, boolean]>([
    ['an SDK deserialization failure (TypeError, status 400)', deserializationFailure(), true],
    ['a TypeError of our code', new TypeError("Cannot read properties of undefined (reading 'S')"), true],
    ['a RangeError', new RangeError('Invalid array length'), true],
    ['a plain Error (the marshaller, a broken item)', new Error('Unsupported type passed'), true],
    ['a thrown string', 'boom', true],
    ['PermanentError', new PermanentError('schema violation'), false],
    ['TransientError', new TransientError('sink is down'), false],
    ['a zod schema violation', z.object({ a: z.string() }).safeParse({}).error, false],
    [
      'a classic zod schema violation',
      classicZod.object({ a: classicZod.string() }).safeParse({}).error,
      false,
    ],
    ['ValidationException', serviceError('ValidationException', 400), false],
    ['ThrottlingException', new ThrottlingException(metadata(400)), false],
    ['a 503', serviceError('ServiceUnavailable', 503, 'server'), false],
    ['ECONNRESET', networkError('ECONNRESET'), false],
    ['TimeoutError', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), false],
  ])('says %s is %s', (_description, error, expected) => {
    // Act
    const internal = isInternalError(error);

    // Assess
    expect(internal).toBe(expected);
  });
});

describe('error classes', () => {
  it.each([
    ['PermanentError', new PermanentError('total is not an integer')],
    ['TransientError', new TransientError('search cluster returned 503')],
  ])('%s carries its reason as its message', (name, error) => {
    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.message).toBe(error.reason);
  });

  it('keeps the cause of a PermanentError', () => {
    // Prepare
    const cause = new Error('root');

    // Act
    const error = new PermanentError('wrapped', { cause });

    // Assess
    expect(error.cause).toBe(cause);
  });

  it('names the position and eventID of an unreportable record', () => {
    // Act
    const error = new UnreportableRecordError(3, 'abc123');

    // Assess
    expect(error.name).toBe('UnreportableRecordError');
    expect(error.message).toContain('position 3');
    expect(error.message).toContain('abc123');
  });
});

describe('describeError', () => {
  it.each([
    [
      'a PermanentError',
      new PermanentError('bad total'),
      { errorName: 'PermanentError', reason: 'bad total' },
    ],
    [
      'an SDK error',
      serviceError('ValidationException', 400),
      { errorName: 'ValidationException', reason: 'ValidationException from the service' },
    ],
    ['an Error without message', new RangeError(''), { errorName: 'RangeError', reason: 'RangeError' }],
    ['a thrown string', 'boom', { errorName: 'NonErrorThrown', reason: 'boom' }],
  ])('describes %s', (_description, error, expected) => {
    // Act
    const described = describeError(error);

    // Assess
    expect(described).toEqual(expected);
  });
});

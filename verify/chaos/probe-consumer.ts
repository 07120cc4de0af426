import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENV } from '../../lambdas/shared/env.js';
import { PermanentError } from '../../lambdas/shared/errors.js';
import type { ChangeRecord } from '../../lambdas/shared/stream/change-record.js';
import type { DeadLetterQueue } from '../../lambdas/shared/stream/dead-letter.js';
import { readSafeInteger } from '../../lambdas/shared/stream/lossless.js';
import {
  type Clock,
  createStreamHandler,
  type StreamContext,
  type StreamLogger,
  type StreamMetrics,
} from '../../lambdas/shared/stream/stream-handler.js';
import type { OrdersStreamApp } from '../../lib/app.js';
import type { StreamConsumer } from '../../lib/constructs/stream-consumer.js';
import { JsonLinesFile } from '../../sandbox/adapters/json-lines-file.js';
import { type ConsumerFactory, requireTemplateVariable } from '../../sandbox/consumer-factory.js';
import type { StreamFunction } from '../../sandbox/esm/types.js';
import { POISON_CUSTOMER_PREFIX } from '../../sandbox/traffic.js';

/**
 * The probe: a stream consumer that lives only in the sandbox tooling, run by chaos beside the product consumers. It
 * runs on the real stream runtime (createStreamHandler, per-record mode) on the Orders stream, is wired by the real
 * StreamConsumer construct (so its mapping has the construct's real settings), and has one observable effect per
 * record: a line in an effects file. Chaos checks that file against the Orders table's truth (invariants.ts), and
 * the order fan-out against the order histories it holds (fanout-invariants.ts).
 */

/** The probe's consumer name: CONSUMER_NAME of its function, the name of its DLQ file and of its stats. */
export const PROBE_CONSUMER_NAME = 'chaos-probe';
/** The construct id under the pipelines stack. */
export const PROBE_CONSTRUCT_ID = 'ChaosProbe';

/** The Lambda entry the construct points at; it exists for the template only and is never deployed. */
export const PROBE_HANDLER_ENTRY = fileURLToPath(new URL('./probe-handler.ts', import.meta.url));

/** One applied change: what the probe writes per successfully processed record. */
export interface ProbeEffect {
  readonly orderId: string;
  /** The order's `version`: of the new image, or of the old image for a REMOVE. */
  readonly version: number;
  readonly eventName: ChangeRecord['eventName'];
  readonly eventId: string;
  readonly sequenceNumber: string;
  /**
   * The order's status after the change (for a REMOVE, its last status), so that the effects give each order's full
   * history: the fan-out's checks derive what it had to send from it. Absent only in effects files of older runs.
   */
  readonly status?: string;
  /** MODIFY only: the status before the change (the old image's). */
  readonly previousStatus?: string;
  /** ISO-8601 time of application. */
  readonly at: string;
}

/** Port: where the probe's effects go. A fault wrapper sits in front of it in the chaos run. */
export interface EffectSink {
  append(effect: ProbeEffect): Promise<void>;
}

/** The probe's effects file under a sandbox output directory. */
export function probeEffectsPath(outputDir: string): string {
  return join(outputDir, 'chaos', `${PROBE_CONSUMER_NAME}-effects.jsonl`);
}

/** An EffectSink on a JSON Lines file: lines land in call order, which is the order of application. */
export function fileEffectSink(path: string): EffectSink {
  const file = new JsonLinesFile(path);
  return { append: (effect) => file.append(effect) };
}

/**
 * Thrown when the probe is asked to apply an effect after its invocation's deadline. Lambda freezes a timed-out
 * function, so it applies nothing more; the local runner cannot freeze a promise, so the probe refuses instead.
 * Without this an invocation the runner gave up on could still write while the retry of its batch runs.
 */
export class DeadlinePassedError extends Error {
  public constructor(sequenceNumber: string) {
    super(`Invocation deadline passed before record ${sequenceNumber} was applied`);
    this.name = 'DeadlinePassedError';
  }
}

/**
 * Below this many milliseconds left, the probe treats the deadline as passed: a timer of the runner may fire a
 * little early or late relative to the context's clock, and a refused effect is only a retry.
 */
const DEADLINE_MARGIN_MS = 20;

export interface ProbeRecordHandlerOptions {
  readonly effects: EffectSink;
  /** @default Date.now */
  readonly clock?: Clock;
}

/** Whether a customer id marks a poison order (the traffic generator's poison prefix). */
export function isPoisonCustomer(customerId: unknown): boolean {
  return typeof customerId === 'string' && customerId.startsWith(POISON_CUSTOMER_PREFIX);
}

/** The probe's per-record logic: poison orders fail permanently, everything else becomes one effect. */
export function createProbeRecordHandler(
  options: ProbeRecordHandlerOptions,
): (record: ChangeRecord, context: StreamContext) => Promise<void> {
  const clock = options.clock ?? Date.now;
  return async (record, context) => {
    const image = record.newImage ?? record.oldImage;
    if (image === undefined) {
      throw new PermanentError('The record carries no image; the Orders stream is NEW_AND_OLD_IMAGES');
    }
    const orderId = record.keys.orderId;
    if (typeof orderId !== 'string') {
      throw new PermanentError('The record has no string key "orderId"');
    }
    if (isPoisonCustomer(image.customerId)) {
      throw new PermanentError(`Poison order ${orderId}: customerId starts with "${POISON_CUSTOMER_PREFIX}"`);
    }
    const version = readSafeInteger(image, 'version');
    if (context.lambdaContext.getRemainingTimeInMillis() < DEADLINE_MARGIN_MS) {
      throw new DeadlinePassedError(record.sequenceNumber);
    }
    const status = image.status;
    const previousStatus = record.eventName === 'MODIFY' ? record.oldImage?.status : undefined;
    await options.effects.append({
      orderId,
      version,
      eventName: record.eventName,
      eventId: record.eventId,
      sequenceNumber: record.sequenceNumber,
      ...(typeof status === 'string' ? { status } : {}),
      ...(typeof previousStatus === 'string' ? { previousStatus } : {}),
      at: new Date(clock()).toISOString(),
    });
  };
}

export interface ProbeFunctionOptions {
  readonly consumerName: string;
  readonly deadLetterQueue: DeadLetterQueue;
  readonly effects: EffectSink;
  readonly clock?: Clock;
  /** @default the runtime's (Powertools, to stdout): the sandbox passes its file-backed ones. */
  readonly logger?: StreamLogger;
  readonly metrics?: StreamMetrics;
}

/** The probe's Lambda function: the real stream runtime in per-record mode around the probe's record handler. */
export function createProbeFunction(options: ProbeFunctionOptions): StreamFunction {
  return createStreamHandler({
    consumerName: options.consumerName,
    deadLetterQueue: options.deadLetterQueue,
    handleRecord: createProbeRecordHandler({ effects: options.effects, clock: options.clock }),
    logger: options.logger,
    metrics: options.metrics,
    clock: options.clock,
  });
}

export interface ProbeFactoryOptions {
  /** Puts a wrapper in front of the effects file, e.g. withEffectFaults. @default none */
  readonly wrapEffects?: (sink: EffectSink) => EffectSink;
}

/**
 * The probe's consumer factory for the sandbox system: wired from its function's environment in the template (the
 * consumer name and DLQ URL the construct set), writing its effects to probeEffectsPath(outputDir) and its logs and
 * metrics to the sandbox's files.
 */
export function probeConsumerFactory(options: ProbeFactoryOptions = {}): ConsumerFactory {
  return (env, adapters) => {
    const consumerName = requireTemplateVariable(env, PROBE_CONSUMER_NAME, ENV.CONSUMER_NAME);
    const queueUrl = requireTemplateVariable(env, PROBE_CONSUMER_NAME, ENV.DEAD_LETTER_QUEUE_URL);
    const fileSink = fileEffectSink(probeEffectsPath(adapters.outputDir));
    return createProbeFunction({
      consumerName,
      deadLetterQueue: adapters.deadLetterQueue(queueUrl),
      effects: options.wrapEffects === undefined ? fileSink : options.wrapEffects(fileSink),
      clock: adapters.clock,
      logger: adapters.logger(consumerName),
      metrics: adapters.metrics(consumerName),
    });
  };
}

/**
 * Adds the probe to the app with the construct's defaults (batch size, retries, record age, bisect...), for the
 * sandbox system's `extendApp`. It is never part of `bin/app.ts`.
 */
export function addProbeConsumer(app: OrdersStreamApp): StreamConsumer {
  return app.stateless.addStreamConsumer(PROBE_CONSTRUCT_ID, {
    table: app.stateful.tables.orders,
    entry: PROBE_HANDLER_ENTRY,
    consumerName: PROBE_CONSUMER_NAME,
  });
}

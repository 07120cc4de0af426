import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';

/**
 * Wraps a handler in a `## <name>` subsegment with the cold-start and service annotations: Powertools' manual
 * instrumentation for handlers without decorators or middy. `annotate` adds annotations from the result.
 */
export function withTraceSegment<E, R>(
  tracer: Tracer,
  name: string,
  handler: (event: E, context: Context) => Promise<R>,
  annotate?: (result: R) => void,
): (event: E, context: Context) => Promise<R> {
  return async (event, context) => {
    const segment = tracer.getSegment();
    const subsegment = segment?.addNewSubsegment(`## ${name}`);
    if (subsegment !== undefined) {
      tracer.setSegment(subsegment);
    }
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      const result = await handler(event, context);
      annotate?.(result);
      return result;
    } finally {
      subsegment?.close();
      if (segment !== undefined) {
        tracer.setSegment(segment);
      }
    }
  };
}

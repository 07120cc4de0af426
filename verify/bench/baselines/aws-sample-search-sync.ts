import type { DynamoDBStreamEvent } from 'aws-lambda';

/**
 * The second yardstick of the `search` benchmark: the per-record index/delete pattern of the AWS documentation
 * sample, "Loading streaming data from Amazon DynamoDB" in the Amazon OpenSearch Service Developer Guide
 * (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/integrations.html#integrations-dynamodb;
 * source: github.com/awsdocs/amazon-opensearch-service-developer-guide, doc_source/integrations.md). Its Python
 * Lambda function does, for every record of the batch (the trigger set to batch size 100, trim horizon):
 *
 * ```python
 * id = record['dynamodb']['Keys']['id']['S']
 * if record['eventName'] == 'REMOVE':
 *     r = requests.delete(url + id, auth=awsauth)
 * else:
 *     document = record['dynamodb']['NewImage']
 *     r = requests.put(url + id, auth=awsauth, json=document, headers=headers)
 * ```
 *
 * with `url = host + '/' + index + '/_doc/'` and `headers = { "Content-Type": "application/json" }`, and returns
 * `'<count> records processed.'`. Ported faithfully, what it does and what it does not:
 *
 * - the document is the raw NewImage, DynamoDB's AttributeValue JSON (`{"status": {"S": "PAID"}}`), not the item;
 * - one request per record, one after the other; no versioning, so a re-delivered older record overwrites a newer
 *   document, and a delete is a plain DELETE;
 * - the response is never looked at (`r` is unused): a failed request is neither retried nor reported;
 * - the body is serialised as Python's `json.dumps` does for `requests` (`", "` and `": "` separators, non-ASCII
 *   escaped), so the bytes sent are the sample's own;
 * - the key attribute is the table's: `orderId` here, `id` in the sample.
 *
 * Not ported: the SigV4 signature (`AWS4Auth`). Against the local endpoint it would only add headers; the requests
 * and their bodies are the same.
 */

export interface AwsSampleSearchSyncOptions {
  /** The OpenSearch endpoint, e.g. `http://127.0.0.1:9200` (the sample's `host`). */
  readonly endpoint: string;
  /** The sample's `index` (`lambda-index` there). */
  readonly index: string;
  /** The table's partition key attribute, a string (the sample's `id`). @default 'orderId' */
  readonly keyAttribute?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** The sample's handler: resolves to its return value once every record's request was answered. */
export type AwsSampleSearchSyncHandler = (event: DynamoDBStreamEvent) => Promise<string>;

/** Python's `json.dumps(value)` with its defaults (what `requests.put(..., json=document)` sends). */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    // ensure_ascii=True: every character above U+007F as \uXXXX (UTF-16 units, so astral ones as surrogate pairs).
    return JSON.stringify(value).replace(
      /[\u0080-\uffff]/g,
      (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .map(([name, member]) => `${pythonJsonDumps(name)}: ${pythonJsonDumps(member)}`);
    return `{${members.join(', ')}}`;
  }
  throw new TypeError(`Not JSON serializable: ${typeof value}`);
}

/** The sample's Lambda function, in TypeScript; see the module comment. */
export function createAwsSampleSearchSync(options: AwsSampleSearchSyncOptions): AwsSampleSearchSyncHandler {
  const send = options.fetch ?? globalThis.fetch;
  const keyAttribute = options.keyAttribute ?? 'orderId';
  const url = `${options.endpoint.replace(/\/+$/, '')}/${options.index}/_doc/`;
  const headers = { 'Content-Type': 'application/json' };
  return async (event) => {
    let count = 0;
    for (const record of event.Records) {
      // The sample reads the key's S without a check: a record without one fails the invocation, as in Python.
      const id = record.dynamodb?.Keys?.[keyAttribute]?.S;
      if (id === undefined) throw new TypeError(`Record ${record.eventID} has no string key ${keyAttribute}`);
      // `url + id`: the sample does not encode the id (order ids are UUIDs, which need no encoding).
      let response: Response;
      if (record.eventName === 'REMOVE') {
        response = await send(url + id, { method: 'DELETE' });
      } else {
        const document = record.dynamodb?.NewImage;
        // A KeyError in the sample: a stream without new images fails every INSERT and MODIFY.
        if (document === undefined) throw new TypeError(`Record ${record.eventID} has no NewImage`);
        response = await send(url + id, { method: 'PUT', headers, body: pythonJsonDumps(document) });
      }
      // `requests` reads the whole response before returning; the sample then ignores it.
      await response.arrayBuffer();
      count += 1;
    }
    return `${count} records processed.`;
  };
}

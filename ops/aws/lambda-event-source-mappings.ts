import { GetEventSourceMappingCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { EventSourceMappingPort, MappingStatus } from './ports.js';

/** Adapter: an event source mapping's state through Lambda GetEventSourceMapping. Reads only. */
export class LambdaEventSourceMappings implements EventSourceMappingPort {
  readonly #client: LambdaClient;

  public constructor(client: LambdaClient) {
    this.#client = client;
  }

  public async mapping(uuid: string): Promise<MappingStatus> {
    const answer = await this.#client.send(new GetEventSourceMappingCommand({ UUID: uuid }));
    return { state: answer.State ?? 'Unknown', lastProcessingResult: answer.LastProcessingResult ?? null };
  }
}

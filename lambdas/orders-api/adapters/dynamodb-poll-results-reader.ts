import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { type PollResultsView, parsePollResultsItem, toPollResultsView } from '../../shared/poll-results.js';
import type { PollResultsReader } from '../ports.js';

/** The PollResults table behind {@link PollResultsReader}: one GetItem per request. */
export class DynamoDbPollResultsReader implements PollResultsReader {
  public constructor(
    private readonly documentClient: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async get(pollId: string): Promise<PollResultsView | undefined> {
    // Eventually consistent on purpose: the results trail the votes through the stream anyway, and `asOf` says
    // how fresh they are.
    const { Item } = await this.documentClient.send(
      new GetCommand({ TableName: this.tableName, Key: { pollId } }),
    );
    return Item === undefined ? undefined : toPollResultsView(parsePollResultsItem(Item));
  }
}

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { VotesRepository } from '../ports.js';
import { type PutVoteOutcome, parseVoteItem, type Vote, type VoteKey } from '../votes.js';

/** The Votes table (partition `pollId`, sort `voterId`) behind {@link VotesRepository}. */
export class DynamoDbVotesRepository implements VotesRepository {
  public constructor(
    private readonly documentClient: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async put(vote: Vote): Promise<PutVoteOutcome> {
    try {
      const { Attributes } = await this.documentClient.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pollId: vote.pollId, voterId: vote.voterId, option: vote.option, votedAt: vote.votedAt },
          // One round trip decides new / changed / same: the same option fails the condition and writes nothing,
          // so the stream carries no record and the aggregator no phantom change.
          ConditionExpression: 'attribute_not_exists(pollId) OR #option <> :option',
          ExpressionAttributeNames: { '#option': 'option' },
          ExpressionAttributeValues: { ':option': vote.option },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return Attributes === undefined
        ? { kind: 'created', vote }
        : { kind: 'changed', vote, previous: parseVoteItem(Attributes) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw error;
      }
      const stored = error.Item === undefined ? await this.get(vote) : parseVoteItem(unmarshall(error.Item));
      if (stored === undefined) {
        // The condition can only fail on an existing item; if that is gone, a concurrent delete won: let the
        // client retry rather than report a vote that no longer exists.
        throw error;
      }
      return { kind: 'unchanged', vote: stored };
    }
  }

  public async delete(key: VoteKey): Promise<boolean> {
    try {
      await this.documentClient.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pollId: key.pollId, voterId: key.voterId },
          // Without the condition a delete of nothing succeeds silently, and the API could not answer 404.
          ConditionExpression: 'attribute_exists(pollId)',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return false;
      }
      throw error;
    }
  }

  private async get(key: VoteKey): Promise<Vote | undefined> {
    const { Item } = await this.documentClient.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pollId: key.pollId, voterId: key.voterId },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : parseVoteItem(Item);
  }
}

import { Logger } from '@aws-lambda-powertools/logger';
import { STSClient } from '@aws-sdk/client-sts';
import { createOpenSearchClient } from '../shared/search/opensearch-client.js';
import { SEARCH_ROLE_MAPPING_SERVICE_NAME } from './names.js';
import { createRoleMappingHandler } from './role-mapping.js';
import { StsMasterUserSession } from './sts-master-user.js';

/**
 * The custom resource's composition root: the STS client and logger once per container; per event, a client of the
 * domain signed with the master user's fresh credentials (see createRoleMappingHandler).
 */
const logger = new Logger({ serviceName: SEARCH_ROLE_MAPPING_SERVICE_NAME });

export const handler = createRoleMappingHandler({
  masterUser: new StsMasterUserSession(new STSClient({}), SEARCH_ROLE_MAPPING_SERVICE_NAME),
  clientFor: (endpoint, credentials) =>
    createOpenSearchClient({
      endpoint,
      sign: true,
      getCredentials: async () => credentials,
      // The security plugin writes its index and reloads the configuration on every node before it answers.
      requestTimeoutMs: 30_000,
      // The handler retries with backoff itself; the client's immediate retry would only add load.
      maxRetries: 0,
    }),
  logger,
});

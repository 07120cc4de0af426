import { ORDERS_INDEX } from './orders-index.js';

/**
 * The OpenSearch security plugin roles the functions are mapped to (fine-grained access control), as the bodies of
 * `PUT _plugins/_security/api/roles/<name>`. IAM decides who reaches the domain at which URL paths; these roles
 * decide, inside OpenSearch, what a mapped principal may do, and both must allow a request.
 *
 * The one definition: the search-role-mapping custom resource PUTs exactly these bodies on every deploy that changes
 * them (its properties carry a hash of this constant), and the table in docs/pipelines/search-sync.md shows the same bodies.
 *
 * - `orders_writer` (the search-sync function): `_bulk` (a cluster-level action in OpenSearch), writing documents,
 *   and the idempotent index bootstrap (orders-index-bootstrap.ts): creating the index with its mappings
 *   (`create_index`), the existence check and mapping read (`HEAD /orders` is `indices:admin/get`), and adding a
 *   missing field (`PUT /orders/_mapping` is `indices:admin/mapping/put`).
 * - `orders_reader` (the orders API): searches only.
 */
export const SEARCH_SECURITY_ROLES = {
  writer: {
    name: 'orders_writer',
    permissions: {
      cluster_permissions: ['indices:data/write/bulk'],
      index_permissions: [
        {
          index_patterns: [ORDERS_INDEX],
          allowed_actions: [
            'create_index',
            'write',
            'indices:admin/get',
            'indices:admin/mappings/get',
            'indices:admin/mapping/put',
          ],
        },
      ],
    },
  },
  reader: {
    name: 'orders_reader',
    permissions: {
      index_permissions: [{ index_patterns: [ORDERS_INDEX], allowed_actions: ['search'] }],
    },
  },
} as const;

/** Which function each security plugin role is for. */
export type SearchSecurityRoleKind = keyof typeof SEARCH_SECURITY_ROLES;

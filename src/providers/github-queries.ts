/**
 * The GitHub GraphQL documents the adapter sends (api.github.com/graphql). Each replaces several REST
 * reads with one request, counted against GraphQL's own budget (1,000 points an hour per repository
 * for `GITHUB_TOKEN`; a query of these sizes costs 1 point: docs.github.com/en/graphql/overview/
 * rate-limits-and-node-limits-for-the-graphql-api). Every field is checked against GitHub's public
 * schema (`@octokit/graphql-schema`) by the contract tests, and the sandbox answers them by executing
 * them against that schema. Connections ask for `pageInfo { hasNextPage }`: a list that did not fit
 * is read again over REST, never judged from its first page.
 */

/** A commit's check runs and statuses (one connection, `statusCheckRollup`), shared by two queries. */
const CHECKS_FRAGMENT = /* GraphQL */ `
  fragment Checks on Commit {
    statusCheckRollup {
      contexts(first: 100) {
        nodes {
          __typename
          ... on CheckRun {
            databaseId
            name
            status
            conclusion
            startedAt
            completedAt
            detailsUrl
            url
          }
          ... on StatusContext {
            context
            state
            description
            targetUrl
          }
        }
        pageInfo {
          hasNextPage
        }
      }
    }
  }
`;

/** Pre-flight's gates in one read: the branch's protection, the environment, the commit's PRs with their reviews, its checks. */
export const PREFLIGHT_QUERY = /* GraphQL */ `
  query PreflightFacts(
    $owner: String!
    $name: String!
    $oid: GitObjectID!
    $branch: String!
    $environment: String!
    $protection: Boolean!
  ) {
    repository(owner: $owner, name: $name) {
      ref(qualifiedName: $branch) @include(if: $protection) {
        ...Protection
      }
      environment(name: $environment) {
        name
        protectionRules(first: 20) {
          nodes {
            type
          }
        }
      }
      object(oid: $oid) {
        ... on Commit {
          associatedPullRequests(first: 20) {
            nodes {
              ...Pull
            }
            pageInfo {
              hasNextPage
            }
          }
          ...Checks
        }
      }
    }
  }
  fragment Protection on Ref {
    name
    refUpdateRule {
      pattern
    }
    rules(first: 100) {
      nodes {
        type
        repositoryRuleset {
          databaseId
        }
      }
      pageInfo {
        hasNextPage
      }
    }
  }
  fragment Pull on PullRequest {
    number
    title
    state
    merged
    mergedAt
    isDraft
    baseRefName
    headRefName
    headRefOid
    url
    author {
      __typename
      login
    }
    reviews(first: 100) {
      nodes {
        databaseId
        author {
          __typename
          login
        }
        state
        submittedAt
        commit {
          oid
        }
      }
      pageInfo {
        hasNextPage
      }
    }
  }
  ${CHECKS_FRAGMENT}
`;

/** The commit's checks alone: each poll of pre-flight's CI wait after the first read. */
export const CHECKS_QUERY = /* GraphQL */ `
  query CommitChecks($owner: String!, $name: String!, $oid: GitObjectID!) {
    repository(owner: $owner, name: $name) {
      object(oid: $oid) {
        ... on Commit {
          ...Checks
        }
      }
    }
  }
  ${CHECKS_FRAGMENT}
`;

/**
 * An environment's newest deployments, each with its latest status: what the lock, the race check and
 * the closing read. Over REST that is one list plus one status read per deployment.
 */
export const DEPLOYMENTS_QUERY = /* GraphQL */ `
  query EnvironmentDeployments($owner: String!, $name: String!, $environment: String!, $first: Int!) {
    repository(owner: $owner, name: $name) {
      deployments(environments: [$environment], first: $first, orderBy: { field: CREATED_AT, direction: DESC }) {
        nodes {
          databaseId
          commitOid
          ref {
            name
          }
          environment
          payload
          description
          createdAt
          creator {
            __typename
            login
          }
          latestStatus {
            state
            description
            createdAt
            logUrl
            environmentUrl
          }
        }
      }
    }
  }
`;

/** Every document, by operation name (the contract tests validate each against GitHub's schema). */
export const GITHUB_QUERIES = {
  PreflightFacts: PREFLIGHT_QUERY,
  CommitChecks: CHECKS_QUERY,
  EnvironmentDeployments: DEPLOYMENTS_QUERY,
} as const;

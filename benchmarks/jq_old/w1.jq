# The previous jq program for W1 (before 2026-12-02), kept only for the old-vs-new jq row of
# benchmarks.run. It repeats paths, parses each date twice and uses look-around; see w1.jq.
def epoch: . as $d | ($d[0:19] + "Z" | fromdateiso8601)
  - (if ($d | length) > 19 and ($d[19:20] == "+" or $d[19:20] == "-")
     then (($d[20:22] | tonumber) * 3600 + ($d[23:25] | tonumber) * 60)
          * (if $d[19:20] == "-" then -1 else 1 end)
     else 0 end);
def rfc: epoch | todate;
def jkeys: [match("(?<![A-Za-z0-9])[A-Z][A-Z0-9_]{1,255}-[0-9]+(?![A-Za-z0-9])"; "g").string]
  | reduce .[] as $k ([]; if index([$k]) then . else . + [$k] end);
def uref($id; $email): {externalId: $id, email: $email} | with_entries(select(.value != null));
(.commit.message | jkeys) as $keys
| {
    schemaVersion: "1.0",
    id: .sha,
    updateSequenceNumber: ((.commit.committer.date | epoch) * 1000),
    displayName: (.commit.message | split("\n")[0] | rtrimstr(" ")),
    description: .commit.message,
    url: .html_url,
    createdAt: (.commit.author.date | rfc),
    createdBy: uref(.author.login; .commit.author.email),
    lastUpdatedAt: (.commit.committer.date | rfc),
    containerKey: {type: "atlassian:repository", value: {repositoryId: .repository.full_name}},
    permissions: [{accessControls: [{principals:
      (if .repository.private then [{type: "USER", id: .author.login}]
       else [{type: "ATLASSIAN_WORKSPACE"}] end)}]}]
  }
  + (if ($keys | length) > 0 then {associations: [{associationType: "issueIdOrKeys", values: $keys}]} else {} end)
  + {"atlassian:commit": {
      hash: .sha,
      displayId: .sha[0:7],
      message: .commit.message,
      author: uref(.author.login; .commit.author.email),
      fileCount: (.files | length),
      authorTimestamp: (.commit.author.date | rfc)
    }}

# The previous jq program for W2 (before 2026-12-02), kept only for the old-vs-new jq row of
# benchmarks.run. It splits each timestamp twice and uses look-around; see w2.jq.
def ms: (split(".") as $p | ($p[0] | tonumber) * 1000 + ((($p[1] // "") + "000")[0:3] | tonumber));
def rfc: (split(".") as $p | ($p[0] | tonumber | todate)[0:19] + "." + ((($p[1] // "") + "000")[0:3]) + "Z");
def jkeys: [match("(?<![A-Za-z0-9])[A-Z][A-Z0-9_]{1,255}-[0-9]+(?![A-Za-z0-9])"; "g").string]
  | reduce .[] as $k ([]; if index([$k]) then . else . + [$k] end);
((.text // "") | jkeys) as $keys
| (.edited.ts // .ts) as $updated
| {
    schemaVersion: "1.0",
    id: "\(.channel)-\(.ts)",
    updateSequenceNumber: ($updated | ms),
    displayName: "\(.user) in \(.channel)",
    url: "https://acme-corp.slack.com/archives/\(.channel)/p\(.ts | gsub("\\."; ""))",
    createdAt: (.ts | rfc),
    createdBy: {externalId: .user},
    lastUpdatedAt: ($updated | rfc),
    containerKey: {type: "atlassian:conversation", value: {entityId: .channel}},
    permissions: [{accessControls: [{principals: [{type: "ATLASSIAN_WORKSPACE"}]}]}]
  }
  + (if (.text // "") != "" then {description: .text} else {} end)
  + (if .thread_ts and .thread_ts != .ts
     then {parentKey: {type: "atlassian:message", value: {entityId: "\(.channel)-\(.thread_ts)"}}}
     else {} end)
  + (if ($keys | length) > 0 then {associations: [{associationType: "issueIdOrKeys", values: $keys}]} else {} end)
  + {"atlassian:message": {
      isPinned: ((.pinned_to | length) > 0),
      lastActive: ((.latest_reply // .edited.ts // .ts) | rfc)
    }}

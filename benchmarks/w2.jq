# jq equivalent of benchmarks/w2.yaml (no validation), written for speed: every value computed
# once, plain slicing instead of split/gsub, one plain match(...; "g") for the Jira keys.
# Slack `ts` values always have six fraction digits ("1704067200.123456"), so seconds and
# milliseconds are fixed slices. Run: jq -c -f w2.jq in.jsonl   (also runs unchanged under gojq)
#
# rfc: RFC 3339 UTC with milliseconds (truncated), as to_rfc3339 writes an epoch with a fraction.
def rfc: (.[:-7] | tonumber | todate)[:19] + "." + .[-6:-3] + "Z";
.ts as $ts
| .channel as $ch
| (.text // "") as $text
| (.edited.ts // $ts) as $upd
| ($upd | rfc) as $updated
| [$text | match("[A-Z][A-Z0-9_]+-[0-9]+"; "g").string] as $found
| {
    schemaVersion: "1.0",
    id: "\($ch)-\($ts)",
    updateSequenceNumber: (($upd[:-7] + $upd[-6:-3]) | tonumber),
    displayName: "\(.user) in \($ch)",
    url: "https://acme-corp.slack.com/archives/\($ch)/p\($ts[:-7])\($ts[-6:])",
    createdAt: ($ts | rfc),
    createdBy: {externalId: .user},
    lastUpdatedAt: $updated,
    containerKey: {type: "atlassian:conversation", value: {entityId: $ch}},
    permissions: [{accessControls: [{principals: [{type: "ATLASSIAN_WORKSPACE"}]}]}],
    "atlassian:message": {
      isPinned: ((.pinned_to | length) > 0),
      lastActive: (if .latest_reply then .latest_reply | rfc else $updated end)
    }
  }
  + if $text != "" then {description: $text} else {} end
  + (.thread_ts as $root
     | if $root and $root != $ts
       then {parentKey: {type: "atlassian:message", value: {entityId: "\($ch)-\($root)"}}}
       else {} end)
  + if $found == [] then {}
    else {associations: [{associationType: "issueIdOrKeys",
          values: (if ($found | length) == 1 then $found
                   else reduce $found[] as $k ([]; if any(.[]; . == $k) then . else . + [$k] end) end)}]}
    end

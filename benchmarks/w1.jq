# jq equivalent of benchmarks/w1.yaml (no validation), written for speed: every value computed
# once, one fromdateiso8601 per date, one plain match(...; "g") for the Jira keys, no repeated
# paths. Run: jq -c -f w1.jq in.jsonl   (also runs unchanged under gojq)
#
# epoch: "2024-05-01T14:58:12+02:00" or "...Z" -> seconds since 1970 (UTC).
def epoch: .[19:] as $z | (.[:19] + "Z" | fromdateiso8601)
  - (if $z == "Z" then 0
     else (($z[1:3] | tonumber) * 3600 + ($z[4:6] | tonumber) * 60)
          * (if $z[:1] == "-" then -1 else 1 end) end);
.commit as $c
| $c.message as $msg
| ($c.committer.date | epoch) as $updated
| ($c.author.date | epoch | todate) as $created
| .author.login as $login
| {email: $c.author.email, externalId: $login} as $who
| [$msg | match("[A-Z][A-Z0-9_]+-[0-9]+"; "g").string] as $found
| {
    schemaVersion: "1.0",
    id: .sha,
    updateSequenceNumber: ($updated * 1000),
    displayName: $msg[:$msg | index("\n")],
    description: $msg,
    url: .html_url,
    createdAt: $created,
    createdBy: $who,
    lastUpdatedAt: ($updated | todate),
    containerKey: {type: "atlassian:repository", value: {repositoryId: .repository.full_name}},
    permissions: [{accessControls: [{principals: [
      if .repository.private then {type: "USER", id: $login} else {type: "ATLASSIAN_WORKSPACE"} end
    ]}]}],
    "atlassian:commit": {
      hash: .sha, displayId: .sha[:7], message: $msg, author: $who,
      fileCount: (.files | length), authorTimestamp: $created
    }
  }
  + if $found == [] then {}
    else {associations: [{associationType: "issueIdOrKeys",
          values: (if ($found | length) == 1 then $found
                   else reduce $found[] as $k ([]; if any(.[]; . == $k) then . else . + [$k] end) end)}]}
    end

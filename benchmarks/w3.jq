# jq equivalent of benchmarks/w3.yaml (no validation), written for speed: every value computed
# once, one fromdateiso8601 per date that needs one, one plain match(...; "g") for the Jira keys.
# Run: jq -c -f w3.jq in.jsonl   (also runs unchanged under gojq)
#
# epoch: "2024-05-01T14:58:12+02:00" or "...Z" -> seconds since 1970 (UTC).
def epoch: .[19:] as $z | (.[:19] + "Z" | fromdateiso8601)
  - (if $z == "Z" then 0
     else (($z[1:3] | tonumber) * 3600 + ($z[4:6] | tonumber) * 60)
          * (if $z[:1] == "-" then -1 else 1 end) end);
# rfc: RFC 3339 UTC; a `Z` date already is one.
def rfc: if endswith("Z") then . else epoch | todate end;
.commit as $c
| $c.message as $msg
| ($c.committer.date | epoch) as $updated
| ($c.author.date | rfc) as $created
| {email: $c.author.email, externalId: (.author.login // $c.author.email)} as $who
| .repository as $repo
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
    containerKey: {type: "atlassian:repository", value: {repositoryId: "\($repo.id)"}},
    permissions: [{accessControls: [{principals: [
      if $repo.private then {type: "GROUP", id: "repo-\($repo.id)"} else {type: "EVERYONE"} end
    ]}]}],
    "atlassian:commit": {hash: .sha, displayId: .sha[:7], author: $who, authorTimestamp: $created}
  }
  + if $found == [] then {}
    else {associations: [{associationType: "issueIdOrKeys",
          values: (if ($found | length) == 1 then $found
                   else reduce $found[] as $k ([]; if any(.[]; . == $k) then . else . + [$k] end) end)}]}
    end

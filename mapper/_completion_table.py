"""Shell completion answers, made by `python -m mapper.cli.completion` (do not edit)."""

# fmt: off
TABLE = {'commands': [['validate',
               '"validate":"Compile mappings and print every problem..."',
               'validate\tCompile mappings and print every problem...'],
              ['run',
               '"run":"Map every input record; write objects,..."',
               'run\tMap every input record; write objects,...'],
              ['preview',
               '"preview":"Show the first N mapped objects, one panel..."',
               'preview\tShow the first N mapped objects, one panel...'],
              ['explain',
               '"explain":"For one record\\\\: a heading per object, then..."',
               'explain\tFor one record: a heading per object, then...'],
              ['eval',
               '"eval":"Print the value of EXPRESSION for one..."',
               'eval\tPrint the value of EXPRESSION for one...'],
              ['test',
               '"test":"Run fixture cases (*.cases.yaml)\\\\: diffs on..."',
               'test\tRun fixture cases (*.cases.yaml): diffs on...'],
              ['init',
               '"init":"Write a starter mapping guessed from a..."',
               'init\tWrite a starter mapping guessed from a...'],
              ['batch',
               '"batch":"Run every job of jobs files (mapping +..."',
               'batch\tRun every job of jobs files (mapping +...'],
              ['index',
               '"index":"Index the objects, users and groups of run..."',
               'index\tIndex the objects, users and groups of run...'],
              ['who-can-see',
               '"who-can-see":"Who can see an object, and why\\\\: each..."',
               'who-can-see\tWho can see an object, and why: each...'],
              ['can-see',
               '"can-see":"Every object a user can see, with the..."',
               'can-see\tEvery object a user can see, with the...'],
              ['functions',
               '"functions":"List the custom JMESPath functions\\\\:..."',
               'functions\tList the custom JMESPath functions:...'],
              ['types',
               '"types":"List the Teamwork Graph object types, or..."',
               'types\tList the Teamwork Graph object types, or...'],
              ['schema',
               '"schema":"Print the JSON Schema of mapping files..."',
               'schema\tPrint the JSON Schema of mapping files...'],
              ['docs',
               '"docs":"Write the connector documentation (data..."',
               'docs\tWrite the connector documentation (data...'],
              ['manifest',
               '"manifest":"Write the Forge \\`graph\\\\:connector\\` module..."',
               'manifest\tWrite the Forge `graph:connector` module...'],
              ['connector-schema',
               '"connector-schema":"Print the JSON Schema of connector files..."',
               'connector-schema\tPrint the JSON Schema of connector files...'],
              ['sync',
               '"sync":"Map an export and write only what Teamwork..."',
               'sync\tMap an export and write only what Teamwork...'],
              ['sync-batch',
               '"sync-batch":"Sync every job of jobs files\\\\: a..."',
               'sync-batch\tSync every job of jobs files: a...'],
              ['serve',
               '"serve":"Receive webhooks, verify them, store them..."',
               'serve\tReceive webhooks, verify them, store them...'],
              ['state',
               '"state":"Inspect or edit a sync state file."',
               'state\tInspect or edit a sync state file.'],
              ['outbox',
               '"outbox":"List, export and acknowledge the batches..."',
               'outbox\tList, export and acknowledge the batches...']],
 'help': {'batch': ['Run every job of jobs files (mapping + inputs), e.g. all bundled mappings on '
                    'their samples.\n'
                    '\n'
                    'A jobs file holds `jobs: [{name, mapping, inputs: [...], records?}]`, paths '
                    'relative to it;\n'
                    'each job writes `DIR/NAME.jsonl`. All jobs files are checked first: if one '
                    'has a problem,\n'
                    'every problem is printed (file:line:col) and no job runs (exit 1; 4 if a file '
                    'cannot be\n'
                    "read). Otherwise the exit code is the worst of the jobs'.\n"
                    '\n'
                    'Example: `mapper batch mappings/*/jobs.yaml -o out`',
                    None],
          'can-see': ['Every object a user can see, with the reason for each, streamed (JSONL with '
                      '--json).\n'
                      '\n'
                      'Example: `mapper can-see U024BE7LH -i graph.db`',
                      None],
          'connector-schema': ['Print the JSON Schema of connector files (for YAML editor '
                               'completion).\n'
                               '\n'
                               'Example: `mapper connector-schema -o connector.schema.json`',
                               None],
          'docs': ['Write the connector documentation (data scope, permissions, sync, deletion, '
                   'controls).\n'
                   '\n'
                   'Example: `mapper docs mappings/github/connector.yaml -o docs.md`',
                   None],
          'eval': ['Print the value of EXPRESSION for one record (JSON on stdout), or its located '
                   'error.\n'
                   '\n'
                   'Exit codes: 0 a value (null included), 1 the expression does not compile, 3 it '
                   'failed on the\n'
                   'record, 4 the input cannot be read or has no such record.\n'
                   '\n'
                   'Example: `mapper eval "commits[].id" samples/github/push-webhook.json`',
                   None],
          'explain': ['For one record: a heading per object, then per field its status, value, '
                      'expression and\n'
                      'why it is null, defaulted or rejected.\n'
                      '\n'
                      "`--json` prints the record's outcome, every field trace and the problems as "
                      'one JSON\n'
                      'document on stdout, for scripts. `--watch` explains again whenever the '
                      'mapping, a file it\n'
                      'includes, a lookup table or an input changes (Ctrl-C to stop).\n'
                      '\n'
                      'Example:\n'
                      '`mapper explain mappings/github/push.yaml samples/github/push-webhook.json '
                      '--record 0`',
                      None],
          'functions': ['List the custom JMESPath functions: signature, summary, examples.\n'
                        '\n'
                        'Example: `mapper functions to_rfc3339`',
                        None],
          'index': ['Index the objects, users and groups of run outputs into an SQLite file; check '
                    'principals.\n'
                    '\n'
                    'Example: `mapper index out/slack-*.jsonl -o graph.db`',
                    None],
          'init': ["Write a starter mapping guessed from a sample's keys, with a comment on each "
                   'field.\n'
                   '\n'
                   'Values it cannot guess are `{const: REPLACE-ME}`: `mapper validate` lists each '
                   'of them as a\n'
                   '`field.placeholder` error until it is mapped. An existing output file is kept '
                   'unless\n'
                   '`--force` is given (exit 2).\n'
                   '\n'
                   'Example: `mapper init samples/github/pulls.json --type atlassian:pull-request '
                   '-o pulls.yaml`',
                   None],
          'manifest': ['Write the Forge `graph:connector` module and scopes (YAML for '
                       'manifest.yml).\n'
                       '\n'
                       'Example: `mapper manifest mappings/github/connector.yaml`',
                       None],
          'outbox': ['List, export and acknowledge the batches `mapper serve` wrote.', None],
          'preview': ['Show the first N mapped objects, one panel each; rejected records show '
                      'their problems.\n'
                      '\n'
                      'With `--watch`, show them again whenever the mapping, a file it includes, a '
                      'lookup table or\n'
                      'an input changes (Ctrl-C to stop).\n'
                      '\n'
                      'Example: `mapper preview mappings/slack/messages.yaml samples/slack/export '
                      '-n 3`',
                      None],
          'run': ['Map every input record; write objects, rejected records and a run report.\n'
                  '\n'
                  "`--diagnostics json|sarif|github` reports the run's problems (mapping warnings "
                  'and errors,\n'
                  'input problems, what stopped the run, the errors of the first 1,000 rejected '
                  'records with\n'
                  'file, record and JSON pointer) for machines on stderr, or in '
                  '`--diagnostics-file FILE`;\n'
                  '`--diagnostics text` ends the usual report with the `N errors, M warnings` '
                  'line.\n'
                  '\n'
                  'Example:\n'
                  '`mapper run mappings/github/push.yaml samples/github/push-webhook.json -o '
                  'out/push.jsonl`',
                  None],
          'schema': ['Print the JSON Schema of mapping files (for YAML editor completion).\n'
                     '\n'
                     'Example: `mapper schema -o mapping.schema.json`',
                     None],
          'serve': ['Receive webhooks, verify them, store them durably, and map them into the '
                    'outbox.\n'
                    '\n'
                    'Example: `mapper serve mappings/github/serve.yaml --data serve-data`',
                    None],
          'state': ['Inspect or edit a sync state file.', None],
          'sync': ['Map an export and write only what Teamwork Graph must change (new, changed, '
                   'deleted).\n'
                   '\n'
                   'setObjects bodies for new and changed objects and, in mirror mode, delete '
                   'bodies for the\n'
                   'ids a full run did not see; the state file remembers what was sent.\n'
                   '\n'
                   'Example: `mapper sync push.yaml export/ --state gh.db --mode mirror -o out '
                   '--connection-id C`',
                   None],
          'sync-batch': ["Sync every job of jobs files: a connector's mappings, users and groups "
                         'included, each\n'
                         'with its own state (STATE/NAME.db) and output folder (DIR/NAME).\n'
                         '\n'
                         'All jobs files are checked first (as `mapper batch`). Then every job '
                         'runs as `mapper sync`;\n'
                         'a job that fails does not stop the others. Last, the principals the jobs '
                         'sent are checked\n'
                         'against the users and groups sent or live in the states. The exit code '
                         'is the worst.\n'
                         '\n'
                         'Example: `mapper sync-batch mappings/github/jobs.yaml --state '
                         '.mapper/github -o out/gh-sync`',
                         None],
          'test': ['Run fixture cases (*.cases.yaml): diffs on failure, field coverage at the '
                   'end.\n'
                   '\n'
                   'A missing path exits 4; a failed case, a case file with problems or nothing to '
                   'run exits 1.\n'
                   '`--format json|sarif|github` prints case-file problems and failed cases '
                   '(`case.failed`,\n'
                   "at the case's line) on stdout for machines; the PASS/FAIL lines then go to "
                   'stderr.\n'
                   '\n'
                   'Example: `mapper test mappings/`',
                   None],
          'types': ["List the Teamwork Graph object types, or one type's fields (* = required).\n"
                    '\n'
                    'Example: `mapper types atlassian:commit`',
                    None],
          'validate': ['Compile mappings and print every problem (file:line:col, caret, '
                       'did-you-mean).\n'
                       '\n'
                       'A connector file, a jobs file (`jobs:`), a serve config (`routes:`) or a '
                       'case file\n'
                       '(`cases:`) is checked as what it is (with the mappings it names, but for '
                       'case files);\n'
                       'a folder stands for its YAML files.\n'
                       '\n'
                       '`--format json|sarif|github` prints the problems on stdout for machines: '
                       'one JSON\n'
                       'document, a SARIF 2.1.0 log for code scanning, or GitHub workflow '
                       'annotations.\n'
                       '\n'
                       'Example: `mapper validate mappings/github/push.yaml`',
                       None],
          'who-can-see': ['Who can see an object, and why: each access control (AND), principal '
                          '(OR), group and\n'
                          'container.\n'
                          '\n'
                          'Example: `mapper who-can-see C05ENGPLT-1714564800.000200 -i graph.db`',
                          None]},
 'help_names': ['-h', '--help'],
 'leaves': {'batch': {'choice_args': False,
                      'multiple': [],
                      'options': [['-o', '"-o":"Output folder."', '-o\tOutput folder.'],
                                  ['--output',
                                   '"--output":"Output folder."',
                                   '--output\tOutput folder.'],
                                  ['--check-access',
                                   '"--check-access":"Check USER/GROUP principals against the '
                                   'users/groups written."',
                                   '--check-access\tCheck USER/GROUP principals against the '
                                   'users/groups written.'],
                                  ['--strict',
                                   '"--strict":"An optional field that fails rejects its object, '
                                   'and principals that name no \n'
                                   'user/group sent are errors (exit 3)."',
                                   '--strict\tAn optional field that fails rejects its object, and '
                                   'principals that name no \n'
                                   'user/group sent are errors (exit 3).'],
                                  ['--replicates-permissions',
                                   '"--replicates-permissions":"The connector replicates '
                                   'permissions\\\\: report objects open to \n'
                                   'EVERYONE/workspace."',
                                   '--replicates-permissions\tThe connector replicates '
                                   'permissions: report objects open to EVERYONE/workspace.'],
                                  ['-h',
                                   '"-h":"Show this message and exit."',
                                   '-h\tShow this message and exit.'],
                                  ['--help',
                                   '"--help":"Show this message and exit."',
                                   '--help\tShow this message and exit.']],
                      'params': {'--check-access': 'check_access',
                                 '--help': 'help',
                                 '--output': 'output',
                                 '--replicates-permissions': 'replicates_permissions',
                                 '--strict': 'strict',
                                 '-h': 'help',
                                 '-o': 'output'},
                      'values': {'--output': [], '-o': []}},
            'can-see': {'choice_args': False,
                        'multiple': [],
                        'options': [['--index',
                                     '"--index":"The access index (from \\`mapper index\\`)."',
                                     '--index\tThe access index (from `mapper index`).'],
                                    ['-i',
                                     '"-i":"The access index (from \\`mapper index\\`)."',
                                     '-i\tThe access index (from `mapper index`).'],
                                    ['--json',
                                     '"--json":"JSON for scripts instead of a table."',
                                     '--json\tJSON for scripts instead of a table.'],
                                    ['-h',
                                     '"-h":"Show this message and exit."',
                                     '-h\tShow this message and exit.'],
                                    ['--help',
                                     '"--help":"Show this message and exit."',
                                     '--help\tShow this message and exit.']],
                        'params': {'--help': 'help',
                                   '--index': 'db_path',
                                   '--json': 'as_json',
                                   '-h': 'help',
                                   '-i': 'db_path'},
                        'values': {'--index': [], '-i': []}},
            'connector-schema': {'choice_args': False,
                                 'multiple': [],
                                 'options': [['-o',
                                              '"-o":"Write to a file."',
                                              '-o\tWrite to a file.'],
                                             ['--output',
                                              '"--output":"Write to a file."',
                                              '--output\tWrite to a file.'],
                                             ['-h',
                                              '"-h":"Show this message and exit."',
                                              '-h\tShow this message and exit.'],
                                             ['--help',
                                              '"--help":"Show this message and exit."',
                                              '--help\tShow this message and exit.']],
                                 'params': {'--help': 'help',
                                            '--output': 'output',
                                            '-h': 'help',
                                            '-o': 'output'},
                                 'values': {'--output': [], '-o': []}},
            'docs': {'choice_args': False,
                     'multiple': [],
                     'options': [['-o', '"-o":"Write to a file."', '-o\tWrite to a file.'],
                                 ['--output',
                                  '"--output":"Write to a file."',
                                  '--output\tWrite to a file.'],
                                 ['--format',
                                  '"--format":"markdown or html."',
                                  '--format\tmarkdown or html.'],
                                 ['-h',
                                  '"-h":"Show this message and exit."',
                                  '-h\tShow this message and exit.'],
                                 ['--help',
                                  '"--help":"Show this message and exit."',
                                  '--help\tShow this message and exit.']],
                     'params': {'--format': 'fmt',
                                '--help': 'help',
                                '--output': 'output',
                                '-h': 'help',
                                '-o': 'output'},
                     'values': {'--format': [['markdown', '"markdown"', 'markdown'],
                                             ['html', '"html"', 'html']],
                                '--output': [],
                                '-o': []}},
            'eval': {'choice_args': False,
                     'multiple': ['param'],
                     'options': [['--record',
                                  '"--record":"0-based record index."',
                                  '--record\t0-based record index.'],
                                 ['-m',
                                  '"-m":"Use this mapping\'\'s records, params and lookups."',
                                  "-m\tUse this mapping's records, params and lookups."],
                                 ['--mapping',
                                  '"--mapping":"Use this mapping\'\'s records, params and '
                                  'lookups."',
                                  "--mapping\tUse this mapping's records, params and lookups."],
                                 ['--records',
                                  '"--records":"Records selector."',
                                  '--records\tRecords selector.'],
                                 ['--param',
                                  '"--param":"NAME=VALUE for a parameter under \\`params\\\\:\\`."',
                                  '--param\tNAME=VALUE for a parameter under `params:`.'],
                                 ['-h',
                                  '"-h":"Show this message and exit."',
                                  '-h\tShow this message and exit.'],
                                 ['--help',
                                  '"--help":"Show this message and exit."',
                                  '--help\tShow this message and exit.']],
                     'params': {'--help': 'help',
                                '--mapping': 'mapping',
                                '--param': 'param',
                                '--record': 'record',
                                '--records': 'records',
                                '-h': 'help',
                                '-m': 'mapping'},
                     'values': {'--mapping': [],
                                '--param': [],
                                '--record': [],
                                '--records': [],
                                '-m': []}},
            'explain': {'choice_args': False,
                        'multiple': ['param'],
                        'options': [['--record',
                                     '"--record":"0-based record index."',
                                     '--record\t0-based record index.'],
                                    ['--field',
                                     '"--field":"Only fields containing this."',
                                     '--field\tOnly fields containing this.'],
                                    ['--records',
                                     '"--records":"Records selector."',
                                     '--records\tRecords selector.'],
                                    ['--param',
                                     '"--param":"NAME=VALUE for a parameter under '
                                     '\\`params\\\\:\\`."',
                                     '--param\tNAME=VALUE for a parameter under `params:`.'],
                                    ['--json',
                                     '"--json":"One JSON document instead of the table."',
                                     '--json\tOne JSON document instead of the table.'],
                                    ['--watch',
                                     '"--watch":"Show it again when the mapping or an input '
                                     'changes (Ctrl-C to stop)."',
                                     '--watch\tShow it again when the mapping or an input changes '
                                     '(Ctrl-C to stop).'],
                                    ['-h',
                                     '"-h":"Show this message and exit."',
                                     '-h\tShow this message and exit.'],
                                    ['--help',
                                     '"--help":"Show this message and exit."',
                                     '--help\tShow this message and exit.']],
                        'params': {'--field': 'field',
                                   '--help': 'help',
                                   '--json': 'as_json',
                                   '--param': 'param',
                                   '--record': 'record',
                                   '--records': 'records',
                                   '--watch': 'watch',
                                   '-h': 'help'},
                        'values': {'--field': [], '--param': [], '--record': [], '--records': []}},
            'functions': {'choice_args': False,
                          'multiple': [],
                          'options': [['-h',
                                       '"-h":"Show this message and exit."',
                                       '-h\tShow this message and exit.'],
                                      ['--help',
                                       '"--help":"Show this message and exit."',
                                       '--help\tShow this message and exit.']],
                          'params': {'--help': 'help', '-h': 'help'},
                          'values': {}},
            'index': {'choice_args': False,
                      'multiple': [],
                      'options': [['-o', '"-o":"The index file."', '-o\tThe index file.'],
                                  ['--output',
                                   '"--output":"The index file."',
                                   '--output\tThe index file.'],
                                  ['--strict',
                                   '"--strict":"Principals that name no user/group exit 3."',
                                   '--strict\tPrincipals that name no user/group exit 3.'],
                                  ['--replicates-permissions',
                                   '"--replicates-permissions":"Report objects granted only to '
                                   'EVERYONE / ATLASSIAN_WORKSPACE."',
                                   '--replicates-permissions\tReport objects granted only to '
                                   'EVERYONE / ATLASSIAN_WORKSPACE.'],
                                  ['-h',
                                   '"-h":"Show this message and exit."',
                                   '-h\tShow this message and exit.'],
                                  ['--help',
                                   '"--help":"Show this message and exit."',
                                   '--help\tShow this message and exit.']],
                      'params': {'--help': 'help',
                                 '--output': 'output',
                                 '--replicates-permissions': 'replicates_permissions',
                                 '--strict': 'strict',
                                 '-h': 'help',
                                 '-o': 'output'},
                      'values': {'--output': [], '-o': []}},
            'init': {'choice_args': False,
                     'multiple': [],
                     'options': [['--type',
                                  '"--type":"Object type, e.g. atlassian\\\\:document."',
                                  '--type\tObject type, e.g. atlassian:document.'],
                                 ['-o',
                                  '"-o":"Write here (default stdout)."',
                                  '-o\tWrite here (default stdout).'],
                                 ['--output',
                                  '"--output":"Write here (default stdout)."',
                                  '--output\tWrite here (default stdout).'],
                                 ['--force',
                                  '"--force":"Overwrite the output file if it exists."',
                                  '--force\tOverwrite the output file if it exists.'],
                                 ['-h',
                                  '"-h":"Show this message and exit."',
                                  '-h\tShow this message and exit.'],
                                 ['--help',
                                  '"--help":"Show this message and exit."',
                                  '--help\tShow this message and exit.']],
                     'params': {'--force': 'force',
                                '--help': 'help',
                                '--output': 'output',
                                '--type': 'type_name',
                                '-h': 'help',
                                '-o': 'output'},
                     'values': {'--output': [], '--type': [], '-o': []}},
            'manifest': {'choice_args': False,
                         'multiple': [],
                         'options': [['-o', '"-o":"Write to a file."', '-o\tWrite to a file.'],
                                     ['--output',
                                      '"--output":"Write to a file."',
                                      '--output\tWrite to a file.'],
                                     ['-h',
                                      '"-h":"Show this message and exit."',
                                      '-h\tShow this message and exit.'],
                                     ['--help',
                                      '"--help":"Show this message and exit."',
                                      '--help\tShow this message and exit.']],
                         'params': {'--help': 'help',
                                    '--output': 'output',
                                    '-h': 'help',
                                    '-o': 'output'},
                         'values': {'--output': [], '-o': []}},
            'preview': {'choice_args': False,
                        'multiple': ['param'],
                        'options': [['-n',
                                     '"-n":"How many objects to show."',
                                     '-n\tHow many objects to show.'],
                                    ['--json',
                                     '"--json":"Raw JSON lines instead of panels."',
                                     '--json\tRaw JSON lines instead of panels.'],
                                    ['--records',
                                     '"--records":"Records selector."',
                                     '--records\tRecords selector.'],
                                    ['--param',
                                     '"--param":"NAME=VALUE for a parameter under '
                                     '\\`params\\\\:\\`."',
                                     '--param\tNAME=VALUE for a parameter under `params:`.'],
                                    ['--strict',
                                     '"--strict":"An optional field that fails rejects its '
                                     'object."',
                                     '--strict\tAn optional field that fails rejects its object.'],
                                    ['--watch',
                                     '"--watch":"Show it again when the mapping or an input '
                                     'changes (Ctrl-C to stop)."',
                                     '--watch\tShow it again when the mapping or an input changes '
                                     '(Ctrl-C to stop).'],
                                    ['-h',
                                     '"-h":"Show this message and exit."',
                                     '-h\tShow this message and exit.'],
                                    ['--help',
                                     '"--help":"Show this message and exit."',
                                     '--help\tShow this message and exit.']],
                        'params': {'--help': 'help',
                                   '--json': 'as_json',
                                   '--param': 'param',
                                   '--records': 'records',
                                   '--strict': 'strict',
                                   '--watch': 'watch',
                                   '-h': 'help',
                                   '-n': 'n'},
                        'values': {'--param': [], '--records': [], '-n': []}},
            'run': {'choice_args': False,
                    'multiple': ['lookup', 'prop', 'param'],
                    'options': [['-o',
                                 '"-o":"Output file (jsonl), folder (batches), or - for stdout."',
                                 '-o\tOutput file (jsonl), folder (batches), or - for stdout.'],
                                ['--output',
                                 '"--output":"Output file (jsonl), folder (batches), or - for '
                                 'stdout."',
                                 '--output\tOutput file (jsonl), folder (batches), or - for '
                                 'stdout.'],
                                ['--format',
                                 '"--format":"jsonl or setObjects batches."',
                                 '--format\tjsonl or setObjects batches.'],
                                ['--records',
                                 '"--records":"JMESPath selecting the records inside each '
                                 'document, e.g. items[]."',
                                 '--records\tJMESPath selecting the records inside each document, '
                                 'e.g. items[].'],
                                ['--rejects',
                                 '"--rejects":"Rejects file (default OUTPUT.rejects.jsonl)."',
                                 '--rejects\tRejects file (default OUTPUT.rejects.jsonl).'],
                                ['--report',
                                 '"--report":"Run report (default OUTPUT.report.json)."',
                                 '--report\tRun report (default OUTPUT.report.json).'],
                                ['--lookup',
                                 '"--lookup":"NAME=PATH for a \\`lookups\\\\:\\` table."',
                                 '--lookup\tNAME=PATH for a `lookups:` table.'],
                                ['--fail-fast',
                                 '"--fail-fast":"Stop at the first rejected record."',
                                 '--fail-fast\tStop at the first rejected record.'],
                                ['--max-errors',
                                 '"--max-errors":"Tolerate this many rejected records; stop at the '
                                 'next one."',
                                 '--max-errors\tTolerate this many rejected records; stop at the '
                                 'next one.'],
                                ['--connection-id',
                                 '"--connection-id":"connectionId for batches."',
                                 '--connection-id\tconnectionId for batches.'],
                                ['--property',
                                 '"--property":"KEY=VALUE tag for batches (≤5)."',
                                 '--property\tKEY=VALUE tag for batches (≤5).'],
                                ['--associations',
                                 '"--associations":"array (documented) or set form."',
                                 '--associations\tarray (documented) or set form.'],
                                ['--workers',
                                 '"--workers":"Worker processes (JSONL output)."',
                                 '--workers\tWorker processes (JSONL output).'],
                                ['--engine',
                                 '"--engine":"local processes, or a Dask cluster (pip install '
                                 '\'\'twg-mapper\'\')."',
                                 '--engine\tlocal processes, or a Dask cluster (pip install '
                                 "'twg-mapper')."],
                                ['--scheduler',
                                 '"--scheduler":"Dask scheduler address (--engine dask); '
                                 'default\\\\: a LocalCluster."',
                                 '--scheduler\tDask scheduler address (--engine dask); default: a '
                                 'LocalCluster.'],
                                ['--quiet',
                                 '"--quiet":"No progress or summary."',
                                 '--quiet\tNo progress or summary.'],
                                ['-q',
                                 '"-q":"No progress or summary."',
                                 '-q\tNo progress or summary.'],
                                ['--param',
                                 '"--param":"NAME=VALUE for a parameter under \\`params\\\\:\\`."',
                                 '--param\tNAME=VALUE for a parameter under `params:`.'],
                                ['--check-access',
                                 '"--check-access":"Check USER/GROUP principals against the '
                                 'users/groups written."',
                                 '--check-access\tCheck USER/GROUP principals against the '
                                 'users/groups written.'],
                                ['--strict',
                                 '"--strict":"An optional field that fails rejects its object, and '
                                 'principals that name no \n'
                                 'user/group sent are errors (exit 3)."',
                                 '--strict\tAn optional field that fails rejects its object, and '
                                 'principals that name no \n'
                                 'user/group sent are errors (exit 3).'],
                                ['--replicates-permissions',
                                 '"--replicates-permissions":"The connector replicates '
                                 'permissions\\\\: report objects open to \n'
                                 'EVERYONE/workspace."',
                                 '--replicates-permissions\tThe connector replicates permissions: '
                                 'report objects open to EVERYONE/workspace.'],
                                ['--no-cache',
                                 '"--no-cache":"Compile the mapping afresh\\\\: neither use nor '
                                 'update the compiled-mapping cache."',
                                 '--no-cache\tCompile the mapping afresh: neither use nor update '
                                 'the compiled-mapping cache.'],
                                ['--diagnostics',
                                 '"--diagnostics":"The run\'\'s problems (mapping, inputs, '
                                 'rejected records) as text with the closing\n'
                                 'count, json, sarif (SARIF 2.1.0) or github (annotations), on '
                                 'stderr or into \n'
                                 '--diagnostics-file."',
                                 "--diagnostics\tThe run's problems (mapping, inputs, rejected "
                                 'records) as text with the closing \n'
                                 'count, json, sarif (SARIF 2.1.0) or github (annotations), on '
                                 'stderr or into \n'
                                 '--diagnostics-file.'],
                                ['--diagnostics-file',
                                 '"--diagnostics-file":"Write the --diagnostics report into this '
                                 'file (default format\\\\: json)."',
                                 '--diagnostics-file\tWrite the --diagnostics report into this '
                                 'file (default format: json).'],
                                ['-h',
                                 '"-h":"Show this message and exit."',
                                 '-h\tShow this message and exit.'],
                                ['--help',
                                 '"--help":"Show this message and exit."',
                                 '--help\tShow this message and exit.']],
                    'params': {'--associations': 'associations',
                               '--check-access': 'check_access',
                               '--connection-id': 'connection_id',
                               '--diagnostics': 'diagnostics',
                               '--diagnostics-file': 'diagnostics_file',
                               '--engine': 'engine',
                               '--fail-fast': 'fail_fast',
                               '--format': 'fmt',
                               '--help': 'help',
                               '--lookup': 'lookup',
                               '--max-errors': 'max_errors',
                               '--no-cache': 'no_cache',
                               '--output': 'output',
                               '--param': 'param',
                               '--property': 'prop',
                               '--quiet': 'quiet',
                               '--records': 'records',
                               '--rejects': 'rejects',
                               '--replicates-permissions': 'replicates_permissions',
                               '--report': 'report',
                               '--scheduler': 'scheduler',
                               '--strict': 'strict',
                               '--workers': 'workers',
                               '-h': 'help',
                               '-o': 'output',
                               '-q': 'quiet'},
                    'values': {'--associations': [['array', '"array"', 'array'],
                                                  ['set', '"set"', 'set']],
                               '--connection-id': [],
                               '--diagnostics': [['text', '"text"', 'text'],
                                                 ['json', '"json"', 'json'],
                                                 ['sarif', '"sarif"', 'sarif'],
                                                 ['github', '"github"', 'github']],
                               '--diagnostics-file': [],
                               '--engine': [['local', '"local"', 'local'],
                                            ['dask', '"dask"', 'dask']],
                               '--format': [['jsonl', '"jsonl"', 'jsonl'],
                                            ['batches', '"batches"', 'batches']],
                               '--lookup': [],
                               '--max-errors': [],
                               '--output': [],
                               '--param': [],
                               '--property': [],
                               '--records': [],
                               '--rejects': [],
                               '--report': [],
                               '--scheduler': [],
                               '--workers': [],
                               '-o': []}},
            'schema': {'choice_args': False,
                       'multiple': [],
                       'options': [['-o', '"-o":"Write to a file."', '-o\tWrite to a file.'],
                                   ['--output',
                                    '"--output":"Write to a file."',
                                    '--output\tWrite to a file.'],
                                   ['-h',
                                    '"-h":"Show this message and exit."',
                                    '-h\tShow this message and exit.'],
                                   ['--help',
                                    '"--help":"Show this message and exit."',
                                    '--help\tShow this message and exit.']],
                       'params': {'--help': 'help',
                                  '--output': 'output',
                                  '-h': 'help',
                                  '-o': 'output'},
                       'values': {'--output': [], '-o': []}},
            'serve': {'choice_args': False,
                      'multiple': [],
                      'options': [['--host',
                                   '"--host":"Address to listen on."',
                                   '--host\tAddress to listen on.'],
                                  ['--data',
                                   '"--data":"Data folder instead of the config\'\'s '
                                   '\\`data\\\\:\\`."',
                                   "--data\tData folder instead of the config's `data:`."],
                                  ['--port',
                                   '"--port":"Port (0\\\\: any free one, shown on start)."',
                                   '--port\tPort (0: any free one, shown on start).'],
                                  ['--access-log',
                                   '"--access-log":"One JSON line per request on stderr (no '
                                   'bodies, no secrets)."',
                                   '--access-log\tOne JSON line per request on stderr (no bodies, '
                                   'no secrets).'],
                                  ['--no-access-log',
                                   '"--no-access-log":"One JSON line per request on stderr (no '
                                   'bodies, no secrets)."',
                                   '--no-access-log\tOne JSON line per request on stderr (no '
                                   'bodies, no secrets).'],
                                  ['--graceful',
                                   '"--graceful":"Seconds in-flight requests get on SIGTERM."',
                                   '--graceful\tSeconds in-flight requests get on SIGTERM.'],
                                  ['-h',
                                   '"-h":"Show this message and exit."',
                                   '-h\tShow this message and exit.'],
                                  ['--help',
                                   '"--help":"Show this message and exit."',
                                   '--help\tShow this message and exit.']],
                      'params': {'--access-log': 'access_log',
                                 '--data': 'data',
                                 '--graceful': 'graceful',
                                 '--help': 'help',
                                 '--host': 'host',
                                 '--no-access-log': 'access_log',
                                 '--port': 'port',
                                 '-h': 'help'},
                      'values': {'--data': [], '--graceful': [], '--host': [], '--port': []}},
            'sync': {'choice_args': False,
                     'multiple': ['prop', 'lookup', 'param', 'hash_exclude'],
                     'options': [['--state',
                                  '"--state":"The state file (SQLite), one per connection and '
                                  'mapping."',
                                  '--state\tThe state file (SQLite), one per connection and '
                                  'mapping.'],
                                 ['-o',
                                  '"-o":"Output folder (replaced whole)."',
                                  '-o\tOutput folder (replaced whole).'],
                                 ['--output',
                                  '"--output":"Output folder (replaced whole)."',
                                  '--output\tOutput folder (replaced whole).'],
                                 ['--mode',
                                  '"--mode":"append, upsert or mirror."',
                                  '--mode\tappend, upsert or mirror.'],
                                 ['--connection-id',
                                  '"--connection-id":"connectionId (required on the first run)."',
                                  '--connection-id\tconnectionId (required on the first run).'],
                                 ['--property',
                                  '"--property":"KEY=VALUE tag for batches (≤5)."',
                                  '--property\tKEY=VALUE tag for batches (≤5).'],
                                 ['--records',
                                  '"--records":"Records selector."',
                                  '--records\tRecords selector.'],
                                 ['--lookup',
                                  '"--lookup":"NAME=PATH for a \\`lookups\\\\:\\` table."',
                                  '--lookup\tNAME=PATH for a `lookups:` table.'],
                                 ['--param',
                                  '"--param":"NAME=VALUE for a parameter under \\`params\\\\:\\`."',
                                  '--param\tNAME=VALUE for a parameter under `params:`.'],
                                 ['--incremental',
                                  '"--incremental":"The inputs hold changes since the cursor '
                                  'only\\\\: never delete; a \\`since\\` \n'
                                  'parameter of the mapping gets the cursor."',
                                  '--incremental\tThe inputs hold changes since the cursor only: '
                                  'never delete; a `since` parameter\n'
                                  'of the mapping gets the cursor.'],
                                 ['--no-incremental',
                                  '"--no-incremental":"The inputs hold changes since the cursor '
                                  'only\\\\: never delete; a \\`since\\` \n'
                                  'parameter of the mapping gets the cursor."',
                                  '--no-incremental\tThe inputs hold changes since the cursor '
                                  'only: never delete; a `since` parameter\n'
                                  'of the mapping gets the cursor.'],
                                 ['--partial',
                                  '"--partial":"The inputs are a subset of the source\\\\: never '
                                  'delete."',
                                  '--partial\tThe inputs are a subset of the source: never '
                                  'delete.'],
                                 ['--no-partial',
                                  '"--no-partial":"The inputs are a subset of the source\\\\: '
                                  'never delete."',
                                  '--no-partial\tThe inputs are a subset of the source: never '
                                  'delete.'],
                                 ['--allow-mass-delete',
                                  '"--allow-mass-delete":"Let a mirror run delete more than '
                                  '--max-delete-share."',
                                  '--allow-mass-delete\tLet a mirror run delete more than '
                                  '--max-delete-share.'],
                                 ['--no-allow-mass-delete',
                                  '"--no-allow-mass-delete":"Let a mirror run delete more than '
                                  '--max-delete-share."',
                                  '--no-allow-mass-delete\tLet a mirror run delete more than '
                                  '--max-delete-share.'],
                                 ['--max-delete-share',
                                  '"--max-delete-share":"Share of known objects a mirror run may '
                                  'delete."',
                                  '--max-delete-share\tShare of known objects a mirror run may '
                                  'delete.'],
                                 ['--dry-run',
                                  '"--dry-run":"Write the output folder, but record nothing in the '
                                  'state."',
                                  '--dry-run\tWrite the output folder, but record nothing in the '
                                  'state.'],
                                 ['--no-dry-run',
                                  '"--no-dry-run":"Write the output folder, but record nothing in '
                                  'the state."',
                                  '--no-dry-run\tWrite the output folder, but record nothing in '
                                  'the state.'],
                                 ['--strict',
                                  '"--strict":"A dangling parentKey/containerKey (an unknown '
                                  'principal) fails."',
                                  '--strict\tA dangling parentKey/containerKey (an unknown '
                                  'principal) fails.'],
                                 ['--no-strict',
                                  '"--no-strict":"A dangling parentKey/containerKey (an unknown '
                                  'principal) fails."',
                                  '--no-strict\tA dangling parentKey/containerKey (an unknown '
                                  'principal) fails.'],
                                 ['--fail-fast',
                                  '"--fail-fast":"Stop at the first rejected record."',
                                  '--fail-fast\tStop at the first rejected record.'],
                                 ['--no-fail-fast',
                                  '"--no-fail-fast":"Stop at the first rejected record."',
                                  '--no-fail-fast\tStop at the first rejected record.'],
                                 ['--max-errors',
                                  '"--max-errors":"Tolerate this many rejects."',
                                  '--max-errors\tTolerate this many rejects.'],
                                 ['--hash-exclude',
                                  '"--hash-exclude":"Another top-level field left out of the '
                                  'content hash."',
                                  '--hash-exclude\tAnother top-level field left out of the content '
                                  'hash.'],
                                 ['--associations',
                                  '"--associations":"array (documented) or set form, as \\`mapper '
                                  'run\\`."',
                                  '--associations\tarray (documented) or set form, as `mapper '
                                  'run`.'],
                                 ['--workers',
                                  '"--workers":"Processes that map into an empty state (or a Dask '
                                  'LocalCluster\'\'s)."',
                                  '--workers\tProcesses that map into an empty state (or a Dask '
                                  "LocalCluster's)."],
                                 ['--engine',
                                  '"--engine":"local, or dask\\\\: map on a Dask cluster (the '
                                  'state stays here)."',
                                  '--engine\tlocal, or dask: map on a Dask cluster (the state '
                                  'stays here).'],
                                 ['--scheduler',
                                  '"--scheduler":"Dask scheduler address (--engine dask)."',
                                  '--scheduler\tDask scheduler address (--engine dask).'],
                                 ['--quiet', '"--quiet":"No summary."', '--quiet\tNo summary.'],
                                 ['-q', '"-q":"No summary."', '-q\tNo summary.'],
                                 ['-h',
                                  '"-h":"Show this message and exit."',
                                  '-h\tShow this message and exit.'],
                                 ['--help',
                                  '"--help":"Show this message and exit."',
                                  '--help\tShow this message and exit.']],
                     'params': {'--allow-mass-delete': 'allow_mass_delete',
                                '--associations': 'associations',
                                '--associations-set': 'set_associations',
                                '--connection-id': 'connection_id',
                                '--dry-run': 'dry_run',
                                '--engine': 'engine',
                                '--fail-fast': 'fail_fast',
                                '--hash-exclude': 'hash_exclude',
                                '--help': 'help',
                                '--incremental': 'incremental',
                                '--lookup': 'lookup',
                                '--max-delete-share': 'max_delete_share',
                                '--max-errors': 'max_errors',
                                '--mode': 'mode',
                                '--no-allow-mass-delete': 'allow_mass_delete',
                                '--no-dry-run': 'dry_run',
                                '--no-fail-fast': 'fail_fast',
                                '--no-incremental': 'incremental',
                                '--no-partial': 'partial',
                                '--no-strict': 'strict',
                                '--output': 'output',
                                '--param': 'param',
                                '--partial': 'partial',
                                '--property': 'prop',
                                '--quiet': 'quiet',
                                '--records': 'records',
                                '--scheduler': 'scheduler',
                                '--state': 'state',
                                '--strict': 'strict',
                                '--workers': 'workers',
                                '-h': 'help',
                                '-o': 'output',
                                '-q': 'quiet'},
                     'values': {'--associations': [['array', '"array"', 'array'],
                                                   ['set', '"set"', 'set']],
                                '--connection-id': [],
                                '--engine': [],
                                '--hash-exclude': [],
                                '--lookup': [],
                                '--max-delete-share': [],
                                '--max-errors': [],
                                '--mode': [['append', '"append"', 'append'],
                                           ['upsert', '"upsert"', 'upsert'],
                                           ['mirror', '"mirror"', 'mirror']],
                                '--output': [],
                                '--param': [],
                                '--property': [],
                                '--records': [],
                                '--scheduler': [],
                                '--state': [],
                                '--workers': [],
                                '-o': []}},
            'sync-batch': {'choice_args': False,
                           'multiple': ['prop', 'hash_exclude'],
                           'options': [['--state',
                                        '"--state":"Folder of the state files\\\\: one per job, '
                                        'NAME.db."',
                                        '--state\tFolder of the state files: one per job, '
                                        'NAME.db.'],
                                       ['-o',
                                        '"-o":"Output folder\\\\: one folder per job, NAME."',
                                        '-o\tOutput folder: one folder per job, NAME.'],
                                       ['--output',
                                        '"--output":"Output folder\\\\: one folder per job, NAME."',
                                        '--output\tOutput folder: one folder per job, NAME.'],
                                       ['--mode',
                                        '"--mode":"append, upsert or mirror."',
                                        '--mode\tappend, upsert or mirror.'],
                                       ['--connection-id',
                                        '"--connection-id":"connectionId (required on the first '
                                        'run)."',
                                        '--connection-id\tconnectionId (required on the first '
                                        'run).'],
                                       ['--incremental',
                                        '"--incremental":"The inputs hold changes since each '
                                        'state\'\'s cursor only."',
                                        "--incremental\tThe inputs hold changes since each state's "
                                        'cursor only.'],
                                       ['--no-incremental',
                                        '"--no-incremental":"The inputs hold changes since each '
                                        'state\'\'s cursor only."',
                                        '--no-incremental\tThe inputs hold changes since each '
                                        "state's cursor only."],
                                       ['--partial',
                                        '"--partial":"The inputs are a subset of the source\\\\: '
                                        'never delete."',
                                        '--partial\tThe inputs are a subset of the source: never '
                                        'delete.'],
                                       ['--no-partial',
                                        '"--no-partial":"The inputs are a subset of the '
                                        'source\\\\: never delete."',
                                        '--no-partial\tThe inputs are a subset of the source: '
                                        'never delete.'],
                                       ['--allow-mass-delete',
                                        '"--allow-mass-delete":"Let a mirror run delete more than '
                                        '--max-delete-share."',
                                        '--allow-mass-delete\tLet a mirror run delete more than '
                                        '--max-delete-share.'],
                                       ['--no-allow-mass-delete',
                                        '"--no-allow-mass-delete":"Let a mirror run delete more '
                                        'than --max-delete-share."',
                                        '--no-allow-mass-delete\tLet a mirror run delete more than '
                                        '--max-delete-share.'],
                                       ['--max-delete-share',
                                        '"--max-delete-share":"Share of known objects a mirror run '
                                        'may delete."',
                                        '--max-delete-share\tShare of known objects a mirror run '
                                        'may delete.'],
                                       ['--dry-run',
                                        '"--dry-run":"Write the output folder, but record nothing '
                                        'in the state."',
                                        '--dry-run\tWrite the output folder, but record nothing in '
                                        'the state.'],
                                       ['--no-dry-run',
                                        '"--no-dry-run":"Write the output folder, but record '
                                        'nothing in the state."',
                                        '--no-dry-run\tWrite the output folder, but record nothing '
                                        'in the state.'],
                                       ['--strict',
                                        '"--strict":"Dangling keys and unknown principals fail '
                                        '(exit 3)."',
                                        '--strict\tDangling keys and unknown principals fail (exit '
                                        '3).'],
                                       ['--no-strict',
                                        '"--no-strict":"Dangling keys and unknown principals fail '
                                        '(exit 3)."',
                                        '--no-strict\tDangling keys and unknown principals fail '
                                        '(exit 3).'],
                                       ['--property',
                                        '"--property":"KEY=VALUE tag for batches (≤5)."',
                                        '--property\tKEY=VALUE tag for batches (≤5).'],
                                       ['--fail-fast',
                                        '"--fail-fast":"Stop at the first rejected record."',
                                        '--fail-fast\tStop at the first rejected record.'],
                                       ['--no-fail-fast',
                                        '"--no-fail-fast":"Stop at the first rejected record."',
                                        '--no-fail-fast\tStop at the first rejected record.'],
                                       ['--max-errors',
                                        '"--max-errors":"Tolerate this many rejects."',
                                        '--max-errors\tTolerate this many rejects.'],
                                       ['--hash-exclude',
                                        '"--hash-exclude":"Another top-level field left out of the '
                                        'content hash."',
                                        '--hash-exclude\tAnother top-level field left out of the '
                                        'content hash.'],
                                       ['--associations',
                                        '"--associations":"array (documented) or set form, as '
                                        '\\`mapper run\\`."',
                                        '--associations\tarray (documented) or set form, as '
                                        '`mapper run`.'],
                                       ['--workers',
                                        '"--workers":"Processes that map into an empty state (or a '
                                        'Dask LocalCluster\'\'s)."',
                                        '--workers\tProcesses that map into an empty state (or a '
                                        "Dask LocalCluster's)."],
                                       ['--quiet',
                                        '"--quiet":"No summaries."',
                                        '--quiet\tNo summaries.'],
                                       ['-q', '"-q":"No summaries."', '-q\tNo summaries.'],
                                       ['-h',
                                        '"-h":"Show this message and exit."',
                                        '-h\tShow this message and exit.'],
                                       ['--help',
                                        '"--help":"Show this message and exit."',
                                        '--help\tShow this message and exit.']],
                           'params': {'--allow-mass-delete': 'allow_mass_delete',
                                      '--associations': 'associations',
                                      '--connection-id': 'connection_id',
                                      '--dry-run': 'dry_run',
                                      '--fail-fast': 'fail_fast',
                                      '--hash-exclude': 'hash_exclude',
                                      '--help': 'help',
                                      '--incremental': 'incremental',
                                      '--max-delete-share': 'max_delete_share',
                                      '--max-errors': 'max_errors',
                                      '--mode': 'mode',
                                      '--no-allow-mass-delete': 'allow_mass_delete',
                                      '--no-dry-run': 'dry_run',
                                      '--no-fail-fast': 'fail_fast',
                                      '--no-incremental': 'incremental',
                                      '--no-partial': 'partial',
                                      '--no-strict': 'strict',
                                      '--output': 'output',
                                      '--partial': 'partial',
                                      '--property': 'prop',
                                      '--quiet': 'quiet',
                                      '--state': 'state',
                                      '--strict': 'strict',
                                      '--workers': 'workers',
                                      '-h': 'help',
                                      '-o': 'output',
                                      '-q': 'quiet'},
                           'values': {'--associations': [['array', '"array"', 'array'],
                                                         ['set', '"set"', 'set']],
                                      '--connection-id': [],
                                      '--hash-exclude': [],
                                      '--max-delete-share': [],
                                      '--max-errors': [],
                                      '--mode': [['append', '"append"', 'append'],
                                                 ['upsert', '"upsert"', 'upsert'],
                                                 ['mirror', '"mirror"', 'mirror']],
                                      '--output': [],
                                      '--property': [],
                                      '--state': [],
                                      '--workers': [],
                                      '-o': []}},
            'test': {'choice_args': False,
                     'multiple': [],
                     'options': [['--update',
                                  '"--update":"Rewrite expected files."',
                                  '--update\tRewrite expected files.'],
                                 ['--format',
                                  '"--format":"Diagnostics as text (people), json, sarif (SARIF '
                                  '2.1.0) or github (annotations)."',
                                  '--format\tDiagnostics as text (people), json, sarif (SARIF '
                                  '2.1.0) or github (annotations).'],
                                 ['--diagnostics',
                                  '"--diagnostics":"Diagnostics as text (people), json, sarif '
                                  '(SARIF 2.1.0) or github (annotations)."',
                                  '--diagnostics\tDiagnostics as text (people), json, sarif (SARIF '
                                  '2.1.0) or github (annotations).'],
                                 ['--junit',
                                  '"--junit":"Also write the results as JUnit XML here."',
                                  '--junit\tAlso write the results as JUnit XML here.'],
                                 ['-h',
                                  '"-h":"Show this message and exit."',
                                  '-h\tShow this message and exit.'],
                                 ['--help',
                                  '"--help":"Show this message and exit."',
                                  '--help\tShow this message and exit.']],
                     'params': {'--diagnostics': 'fmt',
                                '--format': 'fmt',
                                '--help': 'help',
                                '--junit': 'junit',
                                '--update': 'update',
                                '-h': 'help'},
                     'values': {'--diagnostics': [['text', '"text"', 'text'],
                                                  ['json', '"json"', 'json'],
                                                  ['sarif', '"sarif"', 'sarif'],
                                                  ['github', '"github"', 'github']],
                                '--format': [['text', '"text"', 'text'],
                                             ['json', '"json"', 'json'],
                                             ['sarif', '"sarif"', 'sarif'],
                                             ['github', '"github"', 'github']],
                                '--junit': []}},
            'types': {'choice_args': False,
                      'multiple': [],
                      'options': [['-h',
                                   '"-h":"Show this message and exit."',
                                   '-h\tShow this message and exit.'],
                                  ['--help',
                                   '"--help":"Show this message and exit."',
                                   '--help\tShow this message and exit.']],
                      'params': {'--help': 'help', '-h': 'help'},
                      'values': {}},
            'validate': {'choice_args': False,
                         'multiple': [],
                         'options': [['--max-errors',
                                      '"--max-errors":"Show at most this many problems."',
                                      '--max-errors\tShow at most this many problems.'],
                                     ['--format',
                                      '"--format":"Diagnostics as text (people), json, sarif '
                                      '(SARIF 2.1.0) or github (annotations)."',
                                      '--format\tDiagnostics as text (people), json, sarif (SARIF '
                                      '2.1.0) or github (annotations).'],
                                     ['--diagnostics',
                                      '"--diagnostics":"Diagnostics as text (people), json, sarif '
                                      '(SARIF 2.1.0) or github (annotations)."',
                                      '--diagnostics\tDiagnostics as text (people), json, sarif '
                                      '(SARIF 2.1.0) or github (annotations).'],
                                     ['-h',
                                      '"-h":"Show this message and exit."',
                                      '-h\tShow this message and exit.'],
                                     ['--help',
                                      '"--help":"Show this message and exit."',
                                      '--help\tShow this message and exit.']],
                         'params': {'--diagnostics': 'fmt',
                                    '--format': 'fmt',
                                    '--help': 'help',
                                    '--max-errors': 'max_errors',
                                    '-h': 'help'},
                         'values': {'--diagnostics': [['text', '"text"', 'text'],
                                                      ['json', '"json"', 'json'],
                                                      ['sarif', '"sarif"', 'sarif'],
                                                      ['github', '"github"', 'github']],
                                    '--format': [['text', '"text"', 'text'],
                                                 ['json', '"json"', 'json'],
                                                 ['sarif', '"sarif"', 'sarif'],
                                                 ['github', '"github"', 'github']],
                                    '--max-errors': []}},
            'who-can-see': {'choice_args': False,
                            'multiple': [],
                            'options': [['--type',
                                         '"--type":"Object type, when several share the id."',
                                         '--type\tObject type, when several share the id.'],
                                        ['--user',
                                         '"--user":"Answer for this user (externalId) only."',
                                         '--user\tAnswer for this user (externalId) only.'],
                                        ['--index',
                                         '"--index":"The access index (from \\`mapper index\\`)."',
                                         '--index\tThe access index (from `mapper index`).'],
                                        ['-i',
                                         '"-i":"The access index (from \\`mapper index\\`)."',
                                         '-i\tThe access index (from `mapper index`).'],
                                        ['--json',
                                         '"--json":"JSON for scripts instead of a table."',
                                         '--json\tJSON for scripts instead of a table.'],
                                        ['-h',
                                         '"-h":"Show this message and exit."',
                                         '-h\tShow this message and exit.'],
                                        ['--help',
                                         '"--help":"Show this message and exit."',
                                         '--help\tShow this message and exit.']],
                            'params': {'--help': 'help',
                                       '--index': 'db_path',
                                       '--json': 'as_json',
                                       '--type': 'type_name',
                                       '--user': 'user',
                                       '-h': 'help',
                                       '-i': 'db_path'},
                            'values': {'--index': [], '--type': [], '--user': [], '-i': []}}},
 'options': [['--version',
              '"--version":"Show the version and exit."',
              '--version\tShow the version and exit.'],
             ['--allow-path',
              '"--allow-path":"A folder outside the mapping\'\'s own that its \\`include\\\\:\\` '
              'files may come from."',
              "--allow-path\tA folder outside the mapping's own that its `include:` files may come "
              'from.'],
             ['--install-completion',
              '"--install-completion":"Install completion for the current shell."',
              '--install-completion\tInstall completion for the current shell.'],
             ['--show-completion',
              '"--show-completion":"Show completion for the current shell, to copy it or customize '
              'the installation."',
              '--show-completion\tShow completion for the current shell, to copy it or customize '
              'the installation.'],
             ['-h', '"-h":"Show this message and exit."', '-h\tShow this message and exit.'],
             ['--help',
              '"--help":"Show this message and exit."',
              '--help\tShow this message and exit.']],
 'top_values': ['--allow-path'],
 'values': {'--allow-path': []}}

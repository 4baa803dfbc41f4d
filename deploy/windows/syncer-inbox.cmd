@echo off
rem syncer inbox for Windows Task Scheduler: syncer-inbox-task.xml runs this file.
rem Copy it to C:\syncer\syncer-inbox.cmd and adjust the paths. README.md, "Running it nightly",
rem explains every part.
rem
rem One history for every run, scheduled or by hand: give your own account the same ledger once
rem with   setx SYNCER_LEDGER C:\syncer\state\ledger.db
set "SYNCER_LEDGER=C:\syncer\state\ledger.db"
rem
rem The API key is in a file only the task's account can read, never in this script:
rem   icacls C:\syncer\secrets\reevo-api-key /inheritance:r /grant:r "%USERNAME%:R"
rem syncer takes its own lock per inbox (released by Windows when the process ends, however it
rem ends); Task Scheduler also never starts a second copy (MultipleInstancesPolicy IgnoreNew).
rem Alert URLs carry tokens: keep this file readable by the task's account and admins only.
rem Microsoft Teams: a Power Automate "Workflows" webhook, written as apprise's workflows:// URL.
C:\syncer\.venv\Scripts\syncer.exe inbox D:\drops\leads ^
  --mapping C:\syncer\leads.yaml ^
  --api-key-file C:\syncer\secrets\reevo-api-key ^
  --min-age 2m ^
  --max-runtime 6h ^
  --max-reject-rate 5 ^
  --expect-by 07:00 ^
  --tz Europe/Berlin ^
  --notify workflows://prod-00.westeurope.logic.azure.com:443/WORKFLOW_ID/SIGNATURE/ ^
  --notify-on failure,partial,recovery,missing,stuck ^
  --ping https://hc-ping.com/00000000-0000-0000-0000-000000000000 ^
  --quiet >> C:\syncer\state\inbox.log 2>&1
rem Task Scheduler shows this as the task's "Last Run Result" (0x1 = some rows to fix, ...)
exit /b %ERRORLEVEL%

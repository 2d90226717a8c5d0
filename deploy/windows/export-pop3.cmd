@echo off
rem export-pop3.cmd - copy off a Windows Server 2003 POP3 server what auditor reads.
rem
rem   export-pop3.cmd [FOLDER]
rem
rem Run it as a local Administrator ON the POP3 server (winpop refuses anyone else).
rem FOLDER defaults to pop3-export-COMPUTERNAME next to this script. Copy the folder to the
rem auditor host and name it in the config:  [[pop3_server]]  export = "FOLDER".
rem Nothing here changes the server. No password is read or written: the files hold
rem settings only (pop3.reg has no secrets; MetaBase.xml keeps secure properties encrypted).
rem
rem Files written (every one optional for auditor; a check that lacks one reports "skipped"):
rem   winpop-auth.txt           winpop get auth
rem   winpop-list.txt           winpop list
rem   winpop-list-DOMAIN.txt    winpop list DOMAIN, one per POP3 domain
rem   pop3.reg                  reg export "HKLM\SOFTWARE\Microsoft\POP3 Service"
rem   MetaBase.xml              copy of %windir%\system32\inetsrv\MetaBase.xml

setlocal EnableExtensions
set "OUT=%~1"
if "%OUT%"=="" set "OUT=%~dp0pop3-export-%COMPUTERNAME%"
if not exist "%OUT%\" mkdir "%OUT%"
if not exist "%OUT%\" (
    echo export-pop3: cannot create the folder "%OUT%" 1>&2
    exit /b 2
)

set "WINPOP=%SystemRoot%\system32\pop3server\winpop.exe"
if not exist "%WINPOP%" set "WINPOP=winpop.exe"
set "FAILED=0"

rem --- POP3 service: authentication method and domains -------------------------------
"%WINPOP%" get auth > "%OUT%\winpop-auth.txt"
if errorlevel 1 (
    echo export-pop3: "winpop get auth" failed; are you a local Administrator? 1>&2
    set "FAILED=1"
)
"%WINPOP%" list > "%OUT%\winpop-list.txt"
if errorlevel 1 (
    echo export-pop3: "winpop list" failed 1>&2
    set "FAILED=1"
)

rem One file per domain. A domain line has one word; the heading "List of domains" and
rem the footer "N domain(s)" have more, so only one-word lines are domains. winpop output
rem redirected to a file may end its lines CR CR LF; the inner FOR drops the stray CR
rem (the usual cure for WMIC output).
for /f "usebackq tokens=1,2" %%A in ("%OUT%\winpop-list.txt") do (
    if "%%B"=="" for /f "delims=" %%D in ("%%A") do (
        "%WINPOP%" list %%D > "%OUT%\winpop-list-%%D.txt"
        if errorlevel 1 (
            echo export-pop3: "winpop list %%D" failed 1>&2
            set "FAILED=1"
        )
    )
)

rem --- POP3 service registry key (reg writes UTF-16LE with a BOM; auditor reads it as is)
reg export "HKLM\SOFTWARE\Microsoft\POP3 Service" "%OUT%\pop3.reg" /y > nul
if errorlevel 1 (
    echo export-pop3: reg export of "HKLM\SOFTWARE\Microsoft\POP3 Service" failed 1>&2
    set "FAILED=1"
)

rem --- IIS SMTP settings (smart host, relay list, authentication, domains) -------------
rem IIS writes changes made in IIS Manager to MetaBase.xml only from time to time; flush
rem them first so the copy is current. iiscnfg needs cscript (it is a .vbs wrapper).
cscript //nologo %SystemRoot%\system32\iiscnfg.vbs /save > nul 2>&1
if errorlevel 1 echo export-pop3: "iiscnfg /save" failed; MetaBase.xml may miss recent changes 1>&2
copy /y "%SystemRoot%\system32\inetsrv\MetaBase.xml" "%OUT%\MetaBase.xml" > nul
if errorlevel 1 (
    echo export-pop3: cannot copy %SystemRoot%\system32\inetsrv\MetaBase.xml 1>&2
    set "FAILED=1"
)

echo export-pop3: wrote "%OUT%"
dir /b "%OUT%"
if "%FAILED%"=="1" exit /b 1
exit /b 0

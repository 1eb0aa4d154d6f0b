# Script part of OasisKeyManager. It composes the compiled cmdlets (KmPs.dll) and must run in a
# minimal engine: only the language, .NET, $PSCmdlet methods and this module's own commands.
Set-StrictMode -Version 3.0

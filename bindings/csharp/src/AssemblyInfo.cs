using System.Runtime.CompilerServices;

// The mcs-built test harness checks the exception table and the imports.
[assembly: InternalsVisibleTo("LicTests")]

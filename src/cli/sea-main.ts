// The entry of the bundled program (the single executable and its bundle): first tell the modules where the
// files they read at run time are, then run the command line. Import order is evaluation order here.
import './sea-files.js';
import './main.js';

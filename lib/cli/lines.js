'use strict';
// Whole lines out of a stream of chunks: a line is handed on only once its newline arrived (or at
// the end of the stream, or past 1 MiB without one), so lines from several workers never mix.

const MAX_LINE = 1024 * 1024;

class LineSplitter {
  constructor(onLine) {
    this.onLine = onLine;
    this.rest = '';
  }

  push(chunk) {
    this.rest += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl;
    while ((nl = this.rest.indexOf('\n')) !== -1) {
      this.onLine(this.rest.slice(0, nl));
      this.rest = this.rest.slice(nl + 1);
    }
    if (this.rest.length > MAX_LINE) {
      this.onLine(this.rest);
      this.rest = '';
    }
  }

  end() {
    if (this.rest.length > 0) this.onLine(this.rest);
    this.rest = '';
  }
}

module.exports = { LineSplitter };

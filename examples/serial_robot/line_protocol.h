// Parse one line of lince's serial output: "label,score" (the default format
// "{stable_label},{stable_score:.2f}"), or "index,score" with the format
// "{stable_index},{stable_score:.2f}", where the index is -1 for unknown.
//
// Plain C on a char buffer, with no Arduino String, so it runs on an AVR with
// 2 kB of RAM and compiles on a PC for testing. ImageNet labels may contain
// commas ("Boston bull, Boston terrier"), so the score is what follows the
// LAST comma.
#ifndef LINCE_LINE_PROTOCOL_H
#define LINCE_LINE_PROTOCOL_H

#include <stdlib.h>
#include <string.h>

// Split `line` in place. On success, `*label` points into `line` and
// `*score` is the number; returns 1. Returns 0 for a line without a comma
// or without a number after it, and leaves the outputs unchanged.
static int lince_parse_line(char *line, const char **label, float *score) {
  size_t length = strlen(line);
  while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) {
    line[--length] = '\0';
  }
  char *comma = strrchr(line, ',');
  if (comma == NULL || comma[1] == '\0') {
    return 0;
  }
  char *end = NULL;
  double value = strtod(comma + 1, &end);
  if (end == comma + 1 || *end != '\0') {
    return 0;
  }
  *comma = '\0';
  *label = line;
  *score = (float)value;
  return 1;
}

#endif  // LINCE_LINE_PROTOCOL_H

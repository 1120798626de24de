// React to lince results arriving on the serial line.
//
// On the camera board (a Raspberry Pi with the Arduino on USB):
//   lince run model.tflite --source 0 --on-change --output "serial:///dev/ttyACM0?baud=115200"
// Each result is one line "label,score\n", for example "daisy,0.93".
// This sketch lights the built-in LED while TARGET_LABEL is seen with at
// least MIN_SCORE.
// With "serial:///dev/ttyACM0?format={stable_index},{stable_score:.2f}" the
// lines carry the class index instead ("985,0.93", and "-1,0.12" while the
// label is unknown): compare atoi(label) with the index of your class.
// Close the Serial Monitor while lince runs: only one program can own the port.

#include "line_protocol.h"

const char TARGET_LABEL[] = "daisy";
const float MIN_SCORE = 0.6;
const long BAUD = 115200;

// Longer lines are cut: ImageNet's longest label is about 120 characters.
const size_t LINE_CAPACITY = 160;
char line[LINE_CAPACITY];
size_t lineLength = 0;

void setup() {
  pinMode(LED_BUILTIN, OUTPUT);
  digitalWrite(LED_BUILTIN, LOW);
  Serial.begin(BAUD);
}

void handleLine(char *text) {
  const char *label;
  float score;
  if (!lince_parse_line(text, &label, &score)) {
    return;  // a partial line, sent while the port was opening
  }
  bool seen = strcmp(label, TARGET_LABEL) == 0 && score >= MIN_SCORE;
  digitalWrite(LED_BUILTIN, seen ? HIGH : LOW);
}

void loop() {
  while (Serial.available() > 0) {
    char c = (char)Serial.read();
    if (c == '\n') {
      line[lineLength] = '\0';
      handleLine(line);
      lineLength = 0;
    } else if (lineLength < LINE_CAPACITY - 1) {
      line[lineLength++] = c;
    }
  }
}

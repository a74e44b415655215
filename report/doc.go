// Package report writes acquisitions for people: CSV and JSON files, PNG
// plots drawn with gonum/plot, and numbers with SI prefixes (SI).
//
// A plot is about 700 pixels wide. A series with more points is reduced
// before drawing: a scope trace to a min/max envelope of consecutive
// samples drawn as a filled band (every sample lies inside it; a 1 MHz
// sine over 1 ms is a band from -A to +A, not two flat lines), fewer
// samples as they are; a spectrum or a logarithmic sweep to buckets
// evenly spaced in log frequency, each the min, mean and max of its bins,
// drawn as a band with a line through the means (the lowest bins keep a
// bucket each). Ticks sit at round steps (1, 2, 5 x 10^k; 15, 30, 45, 90
// degrees; decades, with 2 and 5 on narrow log axes) and carry SI prefixes
// and units ("200 µs", "1 MHz", "-80 dB"). The legend stands beside the
// plots, off the data; titles name the settings that shape the picture
// (decimation, trigger, rbw, amplitude, window, averages).
package report

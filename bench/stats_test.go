package bench

import (
	"math"
	"testing"
)

func TestMedianAndPercentile(t *testing.T) {
	tests := []struct {
		name                     string
		xs                       []float64
		wantMedian, wantP90, p99 float64
	}{
		{name: "one", xs: []float64{7}, wantMedian: 7, wantP90: 7, p99: 7},
		{name: "odd unsorted", xs: []float64{3, 1, 2}, wantMedian: 2, wantP90: 3, p99: 3},
		{name: "even", xs: []float64{4, 1, 3, 2}, wantMedian: 2.5, wantP90: 4, p99: 4},
		{name: "ten", xs: []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, wantMedian: 5.5, wantP90: 9, p99: 10},
		{name: "twenty respawns", xs: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 1000}, wantMedian: 10.5, wantP90: 18, p99: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.xs...)
			if got := Median(tt.xs); got != tt.wantMedian {
				t.Errorf("Median = %v, want %v", got, tt.wantMedian)
			}
			if got := Percentile(tt.xs, 90); got != tt.wantP90 {
				t.Errorf("p90 = %v, want %v", got, tt.wantP90)
			}
			if got := Percentile(tt.xs, 99); got != tt.p99 {
				t.Errorf("p99 = %v, want %v", got, tt.p99)
			}
			for i := range in {
				if in[i] != tt.xs[i] {
					t.Fatalf("input reordered: %v", tt.xs)
				}
			}
		})
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(Percentile(nil, 50)) {
		t.Error("empty input should give NaN")
	}
}

package wire

import "testing"

type tmpTr struct {
	Ch1 Q16 `msgpack:"ch1"`
	Ch2 Q16 `msgpack:"ch2"`
}
type tmpOut struct {
	Ch1 F32 `msgpack:"ch1"`
	Ch2 F32 `msgpack:"ch2"`
}

func BenchmarkTmpQ16Decode(b *testing.B) {
	c := make([]int16, 16384)
	for i := range c {
		c[i] = int16(i%16000 - 8000)
	}
	buf, _ := Msgpack.Marshal(tmpTr{Q16{c, 1.0 / 8192}, Q16{c, 1.0 / 8192}})
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			var out tmpOut
			_ = Msgpack.Unmarshal(buf, &out)
		}
	})
	b.Run("reuse", func(b *testing.B) {
		var out tmpOut
		for b.Loop() {
			_ = Msgpack.Unmarshal(buf, &out)
		}
	})
}

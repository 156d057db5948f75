;; Image kernels in WebAssembly SIMD, for core/image/kernels.ts. JavaScript's typed-array loops
;; cannot use SIMD; these can. Build: `npm run build:kernels` (writes kernels.wasm beside this
;; file; a test checks that the two agree). Results are bit-identical to the JavaScript loops in
;; core/image/warp.ts.
(module
  (memory (export "memory") 1)

  ;; Halve the RGB image at $src ($W x $H, 3 bytes per pixel, rows packed) into $dst with a 2x2
  ;; box filter: (a + b + c + d + 2) >> 2 per channel; an odd last row or column is dropped.
  ;; Needs $W, $H >= 2. Sixteen source pixels of each row pair (48 bytes) make eight output
  ;; pixels (24 bytes) per step; the rest of the row goes one pixel at a time.
  (func (export "halve") (param $src i32) (param $W i32) (param $H i32) (param $dst i32)
    (local $w i32) (local $h i32) (local $y i32) (local $stride i32) (local $groups i32)
    (local $p i32) (local $q i32) (local $o i32) (local $g i32) (local $x i32)
    (local $a v128) (local $b v128) (local $two v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128) (local $s5 v128)
    (local.set $w (i32.shr_u (local.get $W) (i32.const 1)))
    (local.set $h (i32.shr_u (local.get $H) (i32.const 1)))
    (local.set $stride (i32.mul (local.get $W) (i32.const 3)))
    (local.set $groups (i32.shr_u (local.get $w) (i32.const 3)))
    (local.set $two (i16x8.splat (i32.const 2)))
    (local.set $o (local.get $dst))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $h)))
        (local.set $p
          (i32.add (local.get $src) (i32.mul (i32.shl (local.get $y) (i32.const 1)) (local.get $stride))))
        (local.set $q (i32.add (local.get $p) (local.get $stride)))
        (local.set $g (i32.const 0))
        (block $groups_done
          (loop $group
            (br_if $groups_done (i32.ge_u (local.get $g) (local.get $groups)))
            ;; Column sums of the two rows, widened to 16 bits: 24 channel values per vector pair.
            (local.set $a (v128.load (local.get $p)))
            (local.set $b (v128.load (local.get $q)))
            (local.set $s0 (i16x8.add (i16x8.extend_low_i8x16_u (local.get $a)) (i16x8.extend_low_i8x16_u (local.get $b))))
            (local.set $s1 (i16x8.add (i16x8.extend_high_i8x16_u (local.get $a)) (i16x8.extend_high_i8x16_u (local.get $b))))
            (local.set $a (v128.load offset=16 (local.get $p)))
            (local.set $b (v128.load offset=16 (local.get $q)))
            (local.set $s2 (i16x8.add (i16x8.extend_low_i8x16_u (local.get $a)) (i16x8.extend_low_i8x16_u (local.get $b))))
            (local.set $s3 (i16x8.add (i16x8.extend_high_i8x16_u (local.get $a)) (i16x8.extend_high_i8x16_u (local.get $b))))
            (local.set $a (v128.load offset=32 (local.get $p)))
            (local.set $b (v128.load offset=32 (local.get $q)))
            (local.set $s4 (i16x8.add (i16x8.extend_low_i8x16_u (local.get $a)) (i16x8.extend_low_i8x16_u (local.get $b))))
            (local.set $s5 (i16x8.add (i16x8.extend_high_i8x16_u (local.get $a)) (i16x8.extend_high_i8x16_u (local.get $b))))
            ;; Lane j plus lane j + 3 (the same channel of the next pixel: a shuffle of the vector
            ;; and its successor by 6 bytes), rounded and shifted. Lanes whose index mod 6 is 0-2
            ;; now hold output channels; the others are dropped below.
            (local.set $s0 (i16x8.shr_u (i16x8.add (i16x8.add (local.get $s0)
              (i8x16.shuffle 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 (local.get $s0) (local.get $s1)))
              (local.get $two)) (i32.const 2)))
            (local.set $s1 (i16x8.shr_u (i16x8.add (i16x8.add (local.get $s1)
              (i8x16.shuffle 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 (local.get $s1) (local.get $s2)))
              (local.get $two)) (i32.const 2)))
            (local.set $s2 (i16x8.shr_u (i16x8.add (i16x8.add (local.get $s2)
              (i8x16.shuffle 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 (local.get $s2) (local.get $s3)))
              (local.get $two)) (i32.const 2)))
            (local.set $s3 (i16x8.shr_u (i16x8.add (i16x8.add (local.get $s3)
              (i8x16.shuffle 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 (local.get $s3) (local.get $s4)))
              (local.get $two)) (i32.const 2)))
            (local.set $s4 (i16x8.shr_u (i16x8.add (i16x8.add (local.get $s4)
              (i8x16.shuffle 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 (local.get $s4) (local.get $s5)))
              (local.get $two)) (i32.const 2)))
            ;; The last vector's wanted lanes (42-44) pair with lanes 45-47 of itself.
            (local.set $s5 (i16x8.shr_u (i16x8.add (i16x8.add (local.get $s5)
              (i8x16.shuffle 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 (local.get $s5) (local.get $s5)))
              (local.get $two)) (i32.const 2)))
            ;; Back to bytes (values are 0-255), then keep bytes 0-2, 6-8, ... (24 of 48).
            (local.set $s0 (i8x16.narrow_i16x8_u (local.get $s0) (local.get $s1)))
            (local.set $s1 (i8x16.narrow_i16x8_u (local.get $s2) (local.get $s3)))
            (local.set $s2 (i8x16.narrow_i16x8_u (local.get $s4) (local.get $s5)))
            (v128.store (local.get $o)
              (i8x16.shuffle 0 1 2 6 7 8 12 13 14 18 19 20 24 25 26 30 (local.get $s0) (local.get $s1)))
            (v128.store64_lane offset=16 0 (local.get $o)
              (i8x16.shuffle 15 16 20 21 22 26 27 28 0 0 0 0 0 0 0 0 (local.get $s1) (local.get $s2)))
            (local.set $p (i32.add (local.get $p) (i32.const 48)))
            (local.set $q (i32.add (local.get $q) (i32.const 48)))
            (local.set $o (i32.add (local.get $o) (i32.const 24)))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $group)))
        (local.set $x (i32.shl (local.get $groups) (i32.const 3)))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $x) (local.get $w)))
            (i32.store8 (local.get $o) (call $box (local.get $p) (local.get $q)))
            (i32.store8 offset=1 (local.get $o)
              (call $box (i32.add (local.get $p) (i32.const 1)) (i32.add (local.get $q) (i32.const 1))))
            (i32.store8 offset=2 (local.get $o)
              (call $box (i32.add (local.get $p) (i32.const 2)) (i32.add (local.get $q) (i32.const 2))))
            (local.set $p (i32.add (local.get $p) (i32.const 6)))
            (local.set $q (i32.add (local.get $q) (i32.const 6)))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $tail)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))

  ;; Bilinear samples of an RGB image into normalised planar floats, for warps whose source
  ;; column depends on one output axis and source row on the other (scale-and-shift and its
  ;; 90-degree turns): warp.ts samplePlanarSeparable, whose per-axis tables this reads. Output
  ;; rows $v0 .. $v1 - 1 go to $out as three planes of ($v1 - $v0) x $outW floats. Row and column
  ;; tables: i32 byte offsets into the image ($rowOffs, $colOffs; negative = a tap outside it) and
  ;; f64 fractions ($rowTs, $colTs). Straight: rows give y, columns x; turned: the reverse. Where
  ;; an offset is negative the fill ($f0-$f2, already normalised) is written; the caller redoes
  ;; the one-pixel border ring. $k0 / $k2: byte of output channel 0 / 2 within a pixel (0 and 2,
  ;; or 2 and 0 for BGR). Same f64 operations in the same order as the JS loop: identical floats.
  (func (export "planar")
    (param $src i32) (param $stride i32)
    (param $rowOffs i32) (param $rowTs i32) (param $colOffs i32) (param $colTs i32)
    (param $outW i32) (param $v0 i32) (param $v1 i32) (param $out i32) (param $straight i32)
    (param $k0 i32) (param $k2 i32)
    (param $m0 f64) (param $n0 f64) (param $m1 f64) (param $n1 f64) (param $m2 f64) (param $n2 f64)
    (param $f0 f32) (param $f1 f32) (param $f2 f32)
    (local $v i32) (local $u i32) (local $o i32) (local $plane i32)
    (local $rowOff i32) (local $rowT f64) (local $colOff i32) (local $colT f64)
    (local $tx f64) (local $ty f64) (local $i00 i32) (local $i01 i32)
    (local $w00 f64) (local $w10 f64) (local $w01 f64) (local $w11 f64) (local $p0 i32) (local $q0 i32)
    (local.set $plane
      (i32.shl (i32.mul (local.get $outW) (i32.sub (local.get $v1) (local.get $v0))) (i32.const 2)))
    (local.set $o (local.get $out))
    (local.set $v (local.get $v0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $v) (local.get $v1)))
        (local.set $rowOff (i32.load (i32.add (local.get $rowOffs) (i32.shl (local.get $v) (i32.const 2)))))
        (local.set $rowT (f64.load (i32.add (local.get $rowTs) (i32.shl (local.get $v) (i32.const 3)))))
        (local.set $u (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $u) (local.get $outW)))
            (local.set $colOff (i32.load (i32.add (local.get $colOffs) (i32.shl (local.get $u) (i32.const 2)))))
            (if (i32.or (i32.lt_s (local.get $rowOff) (i32.const 0)) (i32.lt_s (local.get $colOff) (i32.const 0)))
              (then
                (f32.store (local.get $o) (local.get $f0))
                (f32.store (i32.add (local.get $o) (local.get $plane)) (local.get $f1))
                (f32.store (i32.add (local.get $o) (i32.shl (local.get $plane) (i32.const 1))) (local.get $f2)))
              (else
                (local.set $colT (f64.load (i32.add (local.get $colTs) (i32.shl (local.get $u) (i32.const 3)))))
                (local.set $tx (select (local.get $colT) (local.get $rowT) (local.get $straight)))
                (local.set $ty (select (local.get $rowT) (local.get $colT) (local.get $straight)))
                (local.set $i00 (i32.add (local.get $src) (i32.add (local.get $rowOff) (local.get $colOff))))
                (local.set $i01 (i32.add (local.get $i00) (local.get $stride)))
                (local.set $w00 (f64.mul (f64.sub (f64.const 1) (local.get $tx)) (f64.sub (f64.const 1) (local.get $ty))))
                (local.set $w10 (f64.mul (local.get $tx) (f64.sub (f64.const 1) (local.get $ty))))
                (local.set $w01 (f64.mul (f64.sub (f64.const 1) (local.get $tx)) (local.get $ty)))
                (local.set $w11 (f64.mul (local.get $tx) (local.get $ty)))
                ;; Per channel: the four taps weighted and summed in the JS loop's order, then
                ;; (sum - mean) * (1 / std), rounded to a float.
                (local.set $p0 (i32.add (local.get $i00) (local.get $k0)))
                (local.set $q0 (i32.add (local.get $i01) (local.get $k0)))
                (f32.store (local.get $o)
                  (f32.demote_f64 (f64.mul (f64.sub (f64.add (f64.add (f64.add
                    (f64.mul (f64.convert_i32_u (i32.load8_u (local.get $p0))) (local.get $w00))
                    (f64.mul (f64.convert_i32_u (i32.load8_u offset=3 (local.get $p0))) (local.get $w10)))
                    (f64.mul (f64.convert_i32_u (i32.load8_u (local.get $q0))) (local.get $w01)))
                    (f64.mul (f64.convert_i32_u (i32.load8_u offset=3 (local.get $q0))) (local.get $w11)))
                    (local.get $m0)) (local.get $n0))))
                (f32.store (i32.add (local.get $o) (local.get $plane))
                  (f32.demote_f64 (f64.mul (f64.sub (f64.add (f64.add (f64.add
                    (f64.mul (f64.convert_i32_u (i32.load8_u offset=1 (local.get $i00))) (local.get $w00))
                    (f64.mul (f64.convert_i32_u (i32.load8_u offset=4 (local.get $i00))) (local.get $w10)))
                    (f64.mul (f64.convert_i32_u (i32.load8_u offset=1 (local.get $i01))) (local.get $w01)))
                    (f64.mul (f64.convert_i32_u (i32.load8_u offset=4 (local.get $i01))) (local.get $w11)))
                    (local.get $m1)) (local.get $n1))))
                (local.set $p0 (i32.add (local.get $i00) (local.get $k2)))
                (local.set $q0 (i32.add (local.get $i01) (local.get $k2)))
                (f32.store (i32.add (local.get $o) (i32.shl (local.get $plane) (i32.const 1)))
                  (f32.demote_f64 (f64.mul (f64.sub (f64.add (f64.add (f64.add
                    (f64.mul (f64.convert_i32_u (i32.load8_u (local.get $p0))) (local.get $w00))
                    (f64.mul (f64.convert_i32_u (i32.load8_u offset=3 (local.get $p0))) (local.get $w10)))
                    (f64.mul (f64.convert_i32_u (i32.load8_u (local.get $q0))) (local.get $w01)))
                    (f64.mul (f64.convert_i32_u (i32.load8_u offset=3 (local.get $q0))) (local.get $w11)))
                    (local.get $m2)) (local.get $n2))))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $u (i32.add (local.get $u) (i32.const 1)))
            (br $cols)))
        (local.set $v (i32.add (local.get $v) (i32.const 1)))
        (br $rows))))

  ;; One channel of one output pixel: the byte at $p and 3 bytes on, in two rows.
  (func $box (param $p i32) (param $q i32) (result i32)
    (i32.shr_u
      (i32.add
        (i32.add
          (i32.add (i32.load8_u (local.get $p)) (i32.load8_u offset=3 (local.get $p)))
          (i32.add (i32.load8_u (local.get $q)) (i32.load8_u offset=3 (local.get $q))))
        (i32.const 2))
      (i32.const 2))))

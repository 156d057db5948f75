/** What face analysis returns. Coordinates are pixels of the upright image (see `rotation`). */
import type { Point } from '../image/warp.ts';

export type Box = [x1: number, y1: number, x2: number, y2: number];

export interface HeadPose {
  /** Degrees; positive yaw = the face turns towards the image's left (model convention). */
  yaw: number;
  pitch: number;
  roll: number;
}

export interface Face {
  box: Box;
  /** Detector confidence 0..1. */
  score: number;
  /** 68 points, iBUG 300-W order. */
  landmarks: [number, number][];
  pose: HeadPose;
  /** Both eyes classified open. */
  eyesOpen: boolean;
  /** Probability-like openness per eye [image-left, image-right], 0..1. */
  eyeOpenScores: [number, number];
  /** Variance of the Laplacian on the aligned 112x112 grey face (higher = sharper). */
  sharpness: number;
  /** Face size in pixels: the larger side of the box. */
  size: number;
  age: number;
  gender: 'male' | 'female';
  /** Probability of the reported gender, 0.5..1. */
  genderScore: number;
  /** L2-normalised 512-d identity embedding (when asked for). */
  embedding?: Float32Array;
}

export interface ImageAnalysis {
  /** Size of the upright image. */
  width: number;
  height: number;
  /** Clockwise degrees applied to the decoded (EXIF-oriented) pixels to make them upright. */
  rotation: 0 | 90 | 180 | 270;
  /** Largest first. */
  faces: Face[];
}

export type { Point };

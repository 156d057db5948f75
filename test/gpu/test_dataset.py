"""Dataset checks of gpu/train.py: the layouts it accepts and a specific error for each bad input."""

import json
import tempfile
import unittest
from pathlib import Path

import helpers
from facechain_gpu.cli import UsageError
from facechain_gpu.dataset import image_size, load_dataset


class DatasetTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def error(self, folder, trigger="<fcsks>") -> str:
        with self.assertRaises(UsageError) as cm:
            load_dataset(folder, trigger=trigger)
        return str(cm.exception)

    def test_prepare_layout(self):
        d = helpers.dataset(self.root / "d", ["<fcsks>, a handsome man", "<fcsks>, a handsome man"])
        data = load_dataset(d, trigger="<fcsks>")
        self.assertEqual([s.path.name for s in data.samples], ["0.png", "1.png"])
        self.assertEqual(data.samples[0].path.parent.name, "images")
        self.assertEqual((data.samples[0].width, data.samples[0].height, data.samples[0].kind), (512, 512, "png"))
        self.assertEqual(data.samples[1].caption, "<fcsks>, a handsome man")
        self.assertEqual(data.warnings, [])

    def test_plain_image_folder_and_images_only_metadata(self):
        plain = helpers.dataset(self.root / "plain", ["<fcsks>, a beautiful woman"], layout="plain")
        self.assertEqual(load_dataset(plain, "<fcsks>").samples[0].path, plain / "0.png")
        d = helpers.dataset(self.root / "d", ["<fcsks>, a boy, children"])
        (d / "metadata.jsonl").unlink()
        self.assertEqual(load_dataset(d, "<fcsks>").metadata, d / "images" / "metadata.jsonl")

    def test_real_photos(self):
        self.assertEqual(image_size(helpers.FACES / "astronaut.png"), ("png", 512, 512))
        kind, w, h = image_size(helpers.FACES / "messi5.jpg")
        self.assertEqual(kind, "jpeg")
        self.assertGreater(w, 100)
        self.assertGreater(h, 100)

    def test_missing_folder_and_metadata(self):
        self.assertIn("does not exist", self.error(self.root / "nope"))
        (self.root / "empty").mkdir()
        self.assertIn("has no metadata.jsonl", self.error(self.root / "empty"))

    def test_bad_lines(self):
        d = helpers.dataset(self.root / "d", ["<fcsks>, a man"])
        meta = d / "metadata.jsonl"
        cases = {
            "not json\n": "line 1 is not a JSON object",
            "[1, 2]\n": "line 1 is not a JSON object",
            '{"text": "<fcsks>"}\n': 'no "file_name"',
            '{"file_name": "0.png", "text": "  "}\n': 'no "text" caption',
            '{"file_name": "../secret.png", "text": "<fcsks>"}\n': "must be a path inside",
            '{"file_name": "/etc/passwd", "text": "<fcsks>"}\n': "must be a path inside",
            '{"file_name": "9.png", "text": "<fcsks>"}\n': 'image "9.png" is missing',
            '{"file_name": "0.png", "text": "a man"}\n': "does not contain the trigger <fcsks>",
            json.dumps({"file_name": "0.png", "text": "<fcsks>"}) * 1 + "\n" + json.dumps({"file_name": "0.png", "text": "<fcsks>"}) + "\n": "listed twice",
            "\n\n": "lists no images",
        }
        for body, expected in cases.items():
            meta.write_text(body)
            self.assertIn(expected, self.error(d), body)
        meta.write_text('{"file_name": "0.png", "text": "a man"}\n')
        self.assertEqual(len(load_dataset(d, trigger="").samples), 1)  # trigger check off

    def test_bad_images(self):
        d = helpers.dataset(self.root / "d", ["<fcsks>, a man"])
        img = d / "images" / "0.png"
        img.write_bytes(b"GIF89a" + bytes(100))
        self.assertIn("is not a PNG or JPEG", self.error(d))
        img.write_bytes(b"")
        self.assertIn("is empty", self.error(d))
        helpers.png(img, 32, 32)
        self.assertIn("is 32x32; sides must be 64 to 8192", self.error(d))
        img.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(8))
        self.assertIn("damaged PNG", self.error(d))
        img.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(5))
        self.assertIn("damaged JPEG", self.error(d))
        helpers.png(img, 128, 128)
        data = load_dataset(d, "<fcsks>")
        self.assertIn("well under the training resolution 512", data.warnings[0])


if __name__ == "__main__":
    unittest.main()

"""Plain-Python tests of the function against the in-memory store (``host build`` once, then
``PYTHONPATH=target/sealed/python/sdk python3 -m unittest``). ``host test`` runs the built component."""

import unittest

import sealed
from sealed.testing import MemoryStorage
from app import run


class Insert(unittest.TestCase):
    def test_the_second_insert_already_exists(self):
        s = MemoryStorage()
        self.assertEqual(run({"key": "k"}, s).name, "SUCCESS")
        self.assertEqual(run({"key": "k"}, s).name, "ALREADY_EXISTS")
        self.assertEqual(s.registry[("items", "k")], b"{}")

    def test_an_ungranted_label_is_refused(self):
        with self.assertRaises(sealed.NotGranted):
            run({"key": "k"}, MemoryStorage().deny_label("items"))


if __name__ == "__main__":
    unittest.main()

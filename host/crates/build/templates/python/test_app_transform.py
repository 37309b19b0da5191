"""Plain-Python tests of the function (``host build`` once, then
``PYTHONPATH=target/sealed/python/sdk python3 -m unittest``). ``host test`` runs the built component."""

import unittest

import sealed
from app import run


class GenerateId(unittest.TestCase):
    def test_reference_ids_of_the_pgs_runtime(self):
        seed = {"first_name": "Bachi", "last_name": "Eight", "email_registration": "bachi8@yahoo.com"}
        self.assertEqual(run({"prefix": "A", "data": seed}).output, {"id": "A_dc6e2a7ae93b8bae"})
        self.assertEqual(run({"prefix": "A"}).output, {"id": "A_1c197daef20de3f4"})

    def test_a_prefix_that_is_not_a_string_is_a_violation(self):
        self.assertEqual(run({"prefix": 1, "data": 1}).name, "VIOLATION")

    def test_unknown_fields_are_invalid_input(self):
        with self.assertRaises(sealed.InvalidInput):
            run({"prefix": "A", "dat": 1})


if __name__ == "__main__":
    unittest.main()

"""The ``runstream`` command line (typer + rich); ``runstream --help`` lists the commands."""

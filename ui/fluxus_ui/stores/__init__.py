"""One param.Parameterized store per area of the dashboard; views read and call them."""

"""The mood bot: anonymous mood and energy, the daily weather, trends for peer workers."""

"""pesforge.physics"""

"""pesforge.simulate"""

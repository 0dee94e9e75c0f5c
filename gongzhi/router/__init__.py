"""Smart dispatch (智能分派): suggests the category and the department of a report from its words.

``textmodel`` holds the machine-learning core (pure Python + scikit-learn, no database),
``evaluation`` the stratified k-fold evaluation behind ``gongzhi router evaluate``.
"""

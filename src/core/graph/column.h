#pragma once
// A growable array of plain values over malloc/realloc, for the object graph's columns. Unlike
// std::vector it gives spare capacity back without copying (realloc shrinks a block in place),
// and a large column grows by remapping its pages rather than copying them.
#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <new>
#include <type_traits>
#include <utility>

namespace memhound::graph {

template <typename T>
class Column {
    static_assert(std::is_trivially_copyable_v<T>);

public:
    using value_type = T;

    Column() = default;
    Column(std::initializer_list<T> values) {
        reserve(values.size());
        for (T value : values) push_back(value);
    }
    Column(const Column& other) {
        reserve(other.m_size);
        std::copy(other.begin(), other.end(), m_data);
        m_size = other.m_size;
    }
    Column(Column&& other) noexcept
        : m_data(std::exchange(other.m_data, nullptr)),
          m_size(std::exchange(other.m_size, 0)),
          m_capacity(std::exchange(other.m_capacity, 0)) {}
    Column& operator=(Column other) noexcept {
        std::swap(m_data, other.m_data);
        std::swap(m_size, other.m_size);
        std::swap(m_capacity, other.m_capacity);
        return *this;
    }
    ~Column() { std::free(m_data); }

    std::size_t size() const { return m_size; }
    std::size_t capacity() const { return m_capacity; }
    bool empty() const { return m_size == 0; }
    T* data() { return m_data; }
    const T* data() const { return m_data; }
    T* begin() { return m_data; }
    T* end() { return m_data + m_size; }
    const T* begin() const { return m_data; }
    const T* end() const { return m_data + m_size; }
    T& operator[](std::size_t i) { return m_data[i]; }
    const T& operator[](std::size_t i) const { return m_data[i]; }

    void push_back(T value) {
        if (m_size == m_capacity) grow();
        m_data[m_size++] = value;
    }
    void reserve(std::size_t capacity) {
        if (capacity > m_capacity) reallocate(capacity);
    }
    void resize(std::size_t size, T value = T()) {
        reserve(size);
        std::fill(m_data + std::min(m_size, size), m_data + size, value);
        m_size = size;
    }
    void shrink_to_fit() {
        if (m_capacity > m_size) reallocate(m_size);
    }

    friend bool operator==(const Column& a, const Column& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    [[gnu::noinline]] void grow() { reallocate(std::max<std::size_t>(16, 2 * m_capacity)); }

    void reallocate(std::size_t capacity) {
        if (capacity == 0) {
            std::free(std::exchange(m_data, nullptr));
            m_capacity = 0;
            return;
        }
        void* data = std::realloc(m_data, capacity * sizeof(T));
        if (data == nullptr) throw std::bad_alloc();
        m_data = static_cast<T*>(data);
        m_capacity = capacity;
    }

    T* m_data = nullptr;
    std::size_t m_size = 0;
    std::size_t m_capacity = 0;
};

}  // namespace memhound::graph
